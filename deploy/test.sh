#!/usr/bin/env bash
# deploy/test.sh: what `make test` (and CI) runs. Lints, checks the generated
# code, starts the services the tests need (reusing any already running),
# runs every Go test with the race detector, and stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Test services keep their state apart from `make run`'s.
export DATA_DIR=${TEST_DATA_DIR:-$PWD/.data/test}
export STACK_SERVICES=${TEST_STACK_SERVICES:-postgres postgres-replica redis temporal stripe-mock elasticsearch s3}
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://shop:shop@127.0.0.1:5432/shop_test?sslmode=disable}
# A streaming replica of that server, for the read/write splitting tests.
export TEST_DATABASE_READ_URL=${TEST_DATABASE_READ_URL:-postgres://shop:shop@127.0.0.1:5433/shop_test?sslmode=disable}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
# TEMPORAL_BACKEND=postgres: the Temporal server on PostgreSQL (deploy/temporal/) on :7253.
if [[ ${TEMPORAL_BACKEND:-dev} == postgres ]]; then
  export TEST_TEMPORAL_ADDRESS=${TEST_TEMPORAL_ADDRESS:-${TEMPORAL_PG_ADDRESS:-127.0.0.1:7253}}
  export TEMPORAL_PG_ADDRESS=$TEST_TEMPORAL_ADDRESS
fi
export TEST_TEMPORAL_ADDRESS=${TEST_TEMPORAL_ADDRESS:-127.0.0.1:7233}
export TEST_ELASTICSEARCH_URL=${TEST_ELASTICSEARCH_URL:-http://127.0.0.1:9200}
# A namespace of their own keeps test workflows (and their ids) apart from
# `make run`'s when both use one Temporal server.
export TEST_TEMPORAL_NAMESPACE=${TEST_TEMPORAL_NAMESPACE:-shop-test}
export TEST_STRIPE_API_BASE=${TEST_STRIPE_API_BASE:-http://127.0.0.1:12111}
# The S3-compatible server (versitygw) the object-store and image tests use.
export TEST_S3_ENDPOINT=${TEST_S3_ENDPOINT:-http://127.0.0.1:9000}
# A test whose tool is missing (e.g. nginx) fails here instead of skipping.
export TEST_REQUIRE_TOOLS=1
# stack.sh reads the service addresses from the app's variable names.
export DATABASE_URL=$TEST_DATABASE_URL DATABASE_READ_URL=$TEST_DATABASE_READ_URL REDIS_URL=$TEST_REDIS_URL
export TEMPORAL_ADDRESS=$TEST_TEMPORAL_ADDRESS ELASTICSEARCH_URL=$TEST_ELASTICSEARCH_URL
export TEMPORAL_NAMESPACE=$TEST_TEMPORAL_NAMESPACE STRIPE_API_BASE=$TEST_STRIPE_API_BASE S3_ENDPOINT=$TEST_S3_ENDPOINT

step() { printf '\n==> %s\n' "$*"; }

step "lint (gofmt, go mod tidy, go vet, staticcheck, workflowcheck, buf lint, helm lint, actionlint)"
make --no-print-directory lint
step "generated code is up to date"
make --no-print-directory checkgenerate

step "web app: Vitest, production build, first page's JavaScript size"
make --no-print-directory web-test

step "services: $STACK_SERVICES"
trap 'step "stopping the services this run started"; deploy/stack.sh down' EXIT
deploy/stack.sh up

step "nginx for the gateway test (deploy/nginx)"
deploy/nginx/gateway.sh install

step "chromium (the /docs screenshot test) and schemathesis (the API fuzz test)"
deploy/stack.sh tools
deploy/schemathesis/install.sh
# Screenshots and fuzzing reports land here.
export TEST_ARTIFACTS_DIR=${TEST_ARTIFACTS_DIR:-$PWD/.data/test-artifacts}

step "MovieLens ml-latest-small for the recommender's offline evaluation"
deploy/movielens.sh
export MOVIELENS_RATINGS=$PWD/.data/movielens/ratings.csv

step "go test -race ./..."
go test -race -count=1 -timeout 15m ./...

step "schemathesis against the API, as a customer and as an admin (README, Fuzzing)"
go test -count=1 -timeout 10m -run '^TestSchemathesis$' ./api/

step "chaos, short: worker, API, Redis and Temporal killed and restarted while orders flow"
make --no-print-directory chaos CHAOS_DURATION=45s

step "recommender on MovieLens ml-latest-small: floors, then the table (user-temporal split, k=10)"
go test -count=1 -run MovieLens ./recommender/eval/
go run ./cmd/shop recommender evaluate --interactions .data/movielens/ratings.csv \
  --items .data/movielens/movies.csv --split user-temporal --k 10
