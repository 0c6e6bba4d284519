# The two commands a user needs:  make run  and  make test.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export GOFLAGS ?= -buildvcs=false
BIN := $(CURDIR)/bin
export BIN_DIR := $(BIN)

TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server of TEMPORAL_BACKEND=postgres (v1.32.2 needs Go >= 1.26.10).
TEMPORAL_SERVER_VERSION := v1.32.1
STRIPE_MOCK_VERSION  := v0.203.0
# The S3-compatible server of the stack's s3 service (Apache-2.0).
VERSITYGW_VERSION    := v1.8.0
HELM_VERSION         := v3.22.0
ACTIONLINT_VERSION   := v1.7.12
GO_TOOLS := buf protoc-gen-go protoc-gen-connect-go protoc-gen-openapi staticcheck workflowcheck

# The web app's sources: a change to any of them rebuilds web/dist/app.
WEB_SRC := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json web/package.json -type f 2>/dev/null)

.PHONY: help run test build tools web web-deps web-dev web-lint web-test web-journey web-screenshots temporal-server generate checkgenerate docs-bundle lint vet unit bench fuzz load chaos stack-up stack-down gateway clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: web build tools ## start every service, migrate, seed, serve the API and worker (Ctrl-C stops all)
	@deploy/run.sh

test: tools ## lint, check generated code, start test services, go test -race ./...
	@deploy/test.sh

build: ## build bin/shop (with the web app of the last `make web` embedded)
	go build -o $(BIN)/shop ./cmd/shop

# The storefront and admin (web/): npm ci once per package-lock.json, the
# production bundle into web/dist/app, which `make build` embeds.
web-deps: web/node_modules/.stamp
web/node_modules/.stamp: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: web/dist/app/index.html ## build the storefront and admin bundle (web/dist/app)
web/dist/app/index.html: web/node_modules/.stamp $(WEB_SRC)
	cd web && npm run build

web-dev: web-deps ## the web app with hot reload on :5173, against a running `make run`'s API
	cd web && npm run dev

web-lint: web-deps ## ESLint and the TypeScript compiler (strict) over web/
	cd web && npm run lint

web-test: web ## Vitest unit tests, then the first page's JavaScript size against its budget
	cd web && npm test && npm run size

# The browser journey (web/e2e) against the real API and worker, on the
# services `make test` uses (running already: `make test`, or deploy/stack.sh up).
web-journey: web ## the browser journey in Chromium (Playwright, axe); artifacts in .data/test-artifacts/web
	TEST_ARTIFACTS_DIR=$${TEST_ARTIFACTS_DIR:-$(CURDIR)/.data/test-artifacts} go test -count=1 -timeout 10m -run '^TestWebJourney$$' ./api/

web-screenshots: ## retake the README's screenshots (docs/screenshots) with the browser journey
	WEB_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(MAKE) --no-print-directory web-journey

# Tools are built once into bin/ from the versions pinned in tools/go.mod.
tools: $(addprefix $(BIN)/,$(GO_TOOLS) temporal stripe-mock versitygw helm actionlint) ## build the pinned tools into bin/

$(addprefix $(BIN)/,$(GO_TOOLS)) &: tools/go.mod tools/go.sum
	cd tools && GOBIN=$(BIN) go install tool
	@touch $(addprefix $(BIN)/,$(GO_TOOLS))

# These two pin incompatible dependency versions, so each builds alone.
$(BIN)/temporal:
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/stripe-mock:
	GOBIN=$(BIN) go install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

$(BIN)/versitygw:
	GOBIN=$(BIN) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# The Temporal server and its schema tool, only for TEMPORAL_BACKEND=postgres
# (deploy/stack.sh builds them too when that profile starts). They also build
# alone; go install names them server and sql, hence the renames.
temporal-server: $(BIN)/temporal-server $(BIN)/temporal-sql-tool ## build the Temporal server for TEMPORAL_BACKEND=postgres
$(BIN)/temporal-server $(BIN)/temporal-sql-tool &:
	@tmp=$$(mktemp -d $(BIN)/.temporal-server.XXXXXX); trap 'rm -rf $$tmp' EXIT; \
	GOBIN=$$tmp go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION); \
	mv $$tmp/server $(BIN)/temporal-server; mv $$tmp/sql $(BIN)/temporal-sql-tool

# Helm and actionlint build alone too. The ldflags are those of Helm's release
# build: its version, and Kubernetes 1.37 (its client-go) as the default
# cluster version that charts' kubeVersion is checked against.
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  $(foreach p,pkg/lint/rules pkg/chartutil,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=37)
$(BIN)/helm:
	GOBIN=$(BIN) go install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(BIN)/actionlint:
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# gen/openapi/openapi.yaml comes from protoc-gen-openapi; the Go file beside
# it embeds the document for the API (go:embed cannot reach outside a package).
define OPENAPI_EMBED
// Code generated by make generate. DO NOT EDIT.

// Package openapi holds the OpenAPI document generated from proto/.
package openapi

import _ "embed"

// YAML is openapi.yaml, as protoc-gen-openapi wrote it.
//
//go:embed openapi.yaml
var YAML []byte
endef
export OPENAPI_EMBED

generate: tools web-deps ## regenerate gen/ and web/src/gen/ from proto/
	PATH=$(BIN):$$PATH $(BIN)/buf generate
	printf '%s\n' "$$OPENAPI_EMBED" > gen/openapi/openapi.go

checkgenerate: tools web-deps ## fail when the committed gen/ differs from a fresh generation
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	PATH=$(BIN):$$PATH $(BIN)/buf generate -o $$tmp; \
	printf '%s\n' "$$OPENAPI_EMBED" > $$tmp/gen/openapi/openapi.go; \
	if ! diff -r gen $$tmp/gen || ! diff -r web/src/gen $$tmp/web/src/gen; then \
	  echo "gen/ or web/src/gen/ is stale: run 'make generate' and commit it" >&2; exit 1; fi

# The API reference UI (Swagger UI) is committed in api/docs/dist so that the
# Go build needs no npm; this refreshes it from api/docs/package-lock.json.
DOCS_BUNDLE_FILES := swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE
docs-bundle: ## refresh the API reference UI in api/docs/dist from its npm lock file
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp api/docs/package.json api/docs/package-lock.json $$tmp/; \
	npm ci --prefix $$tmp --ignore-scripts --no-audit --no-fund; \
	for f in $(DOCS_BUNDLE_FILES); do cp $$tmp/node_modules/swagger-ui-dist/$$f api/docs/dist/; done

lint: tools web-lint ## gofmt, go mod tidy, go vet, staticcheck, workflowcheck, buf lint, helm lint, actionlint, ESLint, tsc
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
	go test -run '^$$' -bench . -benchtime=1000x -timeout 30m ./internal/search/
	go test -run '^$$' -bench GetProductVsBare -benchtime=1x -timeout 10m ./api/
	go test -run '^$$' -bench . -benchtime=2000x -timeout 15m ./recommender/
	go test -run '^$$' -bench Analytics -benchtime=1x -timeout 90m ./internal/analytics/

FUZZTIME ?= 30s
fuzz: ## run every Fuzz function for FUZZTIME each (default 30s; FuzzPostgres* need the services of `make test`)
	@grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | sort | while read -r file; do \
	  for fz in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$$file" | cut -d' ' -f2); do \
	    echo "== $$fz ($$(dirname "$$file"), $(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) "$$(dirname "$$file")" || exit 1; \
	  done; done

# The load tool measures a running `make run` (start it with the RATE_LIMITS
# the tool prints); LOAD_URL, LOAD_DURATION, LOAD_CONCURRENCY, LOAD_OUT,
# LOAD_MAX_ERRORS, LOAD_PPROF_URL and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE come
# from the environment; TEMPORAL_BACKEND=postgres measures the server that
# `TEMPORAL_BACKEND=postgres make run` uses, as run.sh picks it.
load: ## load-test a running `make run` against bare baselines; report in .data/load/<time>/
	go build -o $(BIN)/load ./deploy/load
	@if [[ $${TEMPORAL_BACKEND:-dev} == postgres ]]; then export TEMPORAL_ADDRESS=$${TEMPORAL_PG_ADDRESS:-127.0.0.1:7253}; fi; \
	$(BIN)/load

# The chaos run starts its own Redis and Temporal server (and Elasticsearch
# with CHAOS_SEARCH_BACKEND=elasticsearch) on other ports, its own database
# on the PostgreSQL of `make test`, and stops all of them again; it needs
# PostgreSQL and stripe-mock, which stack.sh reuses or starts.
CHAOS_DURATION ?= 3m
chaos: build tools ## kill and restart the worker, an API, Redis, Temporal while orders flow; check the invariants
	@deploy/stack.sh up postgres stripe-mock
	go build -o $(BIN)/chaos ./deploy/chaos
	CHAOS_DURATION=$(CHAOS_DURATION) $(BIN)/chaos

stack-up: tools ## start the local services without the app
	@deploy/stack.sh up

stack-down: ## stop the local services this checkout started
	@deploy/stack.sh down

gateway: ## (re)start the Nginx gateway (https://localhost:8443) in front of a running API
	@deploy/nginx/gateway.sh start

clean: stack-down ## stop services and remove bin/ and .data/
	rm -rf $(BIN) .data
