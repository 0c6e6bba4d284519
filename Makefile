# The two commands a user needs:  make run  and  make test.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export GOFLAGS ?= -buildvcs=false
BIN := $(CURDIR)/bin
export BIN_DIR := $(BIN)

TEMPORAL_CLI_VERSION := v1.5.1
STRIPE_MOCK_VERSION  := v0.203.0
HELM_VERSION         := v3.22.0
ACTIONLINT_VERSION   := v1.7.12
GO_TOOLS := buf protoc-gen-go protoc-gen-connect-go staticcheck workflowcheck

.PHONY: help run test build tools generate checkgenerate lint vet unit bench fuzz stack-up stack-down gateway clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: build tools ## start every service, migrate, seed, serve the API and worker (Ctrl-C stops all)
	@deploy/run.sh

test: tools ## lint, check generated code, start test services, go test -race ./...
	@deploy/test.sh

build: ## build bin/shop
	go build -o $(BIN)/shop ./cmd/shop

# Tools are built once into bin/ from the versions pinned in tools/go.mod.
tools: $(addprefix $(BIN)/,$(GO_TOOLS) temporal stripe-mock helm actionlint) ## build the pinned tools into bin/

$(addprefix $(BIN)/,$(GO_TOOLS)) &: tools/go.mod tools/go.sum
	cd tools && GOBIN=$(BIN) go install tool
	@touch $(addprefix $(BIN)/,$(GO_TOOLS))

# These two pin incompatible dependency versions, so each builds alone.
$(BIN)/temporal:
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/stripe-mock:
	GOBIN=$(BIN) go install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

# Helm and actionlint build alone too. The ldflags are those of Helm's release
# build: its version, and Kubernetes 1.37 (its client-go) as the default
# cluster version that charts' kubeVersion is checked against.
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  $(foreach p,pkg/lint/rules pkg/chartutil,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=37)
$(BIN)/helm:
	GOBIN=$(BIN) go install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(BIN)/actionlint:
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

generate: tools ## regenerate gen/ from proto/
	PATH=$(BIN):$$PATH $(BIN)/buf generate

checkgenerate: tools ## fail when the committed gen/ differs from a fresh generation
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	PATH=$(BIN):$$PATH $(BIN)/buf generate -o $$tmp; \
	if ! diff -r gen $$tmp/gen; then echo "gen/ is stale: run 'make generate' and commit it" >&2; exit 1; fi

lint: tools ## gofmt, go mod tidy, go vet, staticcheck, workflowcheck, buf lint, helm lint, actionlint
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1; fi
	@go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'" >&2; exit 1; }
	go vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/workflowcheck ./workflows/...
	$(BIN)/buf lint
	@for v in values.yaml values.staging.yaml values.prod.yaml; do \
	  $(BIN)/helm lint --strict --quiet deploy/helm/shop --values deploy/helm/shop/$$v; done
	$(BIN)/actionlint

unit: ## go test -race ./... against services already running
	go test -race -count=1 ./...

bench: ## benchmarks (need the services of `make test` running)
	go test -run '^$$' -bench . -benchtime=100x -timeout 30m ./internal/search/
	go test -run '^$$' -bench . -benchtime=2000x -timeout 15m ./recommender/
	go test -run '^$$' -bench Analytics -benchtime=1x -timeout 90m ./internal/analytics/

FUZZTIME ?= 30s
fuzz: ## run every Fuzz function for FUZZTIME each (default 30s; FuzzPostgres* need the services of `make test`)
	@grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | sort | while read -r file; do \
	  for fz in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$$file" | cut -d' ' -f2); do \
	    echo "== $$fz ($$(dirname "$$file"), $(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) "$$(dirname "$$file")" || exit 1; \
	  done; done

stack-up: tools ## start the local services without the app
	@deploy/stack.sh up

stack-down: ## stop the local services this checkout started
	@deploy/stack.sh down

gateway: ## (re)start the Nginx gateway (https://localhost:8443) in front of a running API
	@deploy/nginx/gateway.sh start

clean: stack-down ## stop services and remove bin/ and .data/
	rm -rf $(BIN) .data
