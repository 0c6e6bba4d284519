#!/usr/bin/env bash
# deploy/run.sh: what `make run` runs. Brings up every service (reusing any
# already running), migrates, starts `shop worker` and `shop api`, seeds the
# demo catalog through a Temporal workflow, trains the recommender on the
# demo past and serves it on :8001, puts the Nginx gateway in front of both
# (https://localhost:8443; GATEWAY=0 leaves it out), prints the URLs, and on
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -f .env ]]; then
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi
export DATA_DIR=${DATA_DIR:-$PWD/.data}
services="postgres redis temporal stripe-mock"
# A local streaming replica when .env asks for read/write splitting.
[[ -z ${DATABASE_READ_URL:-} ]] || services=${services/postgres/postgres postgres-replica}
if [[ ${SEARCH_BACKEND:-postgres} == elasticsearch ]]; then
  services+=" elasticsearch"
fi
# Product images on the filesystem by default; IMAGE_STORE=s3 with a local
# S3_ENDPOINT starts the stack's S3-compatible server (versitygw) with its
# local keys.
export IMAGE_STORE=${IMAGE_STORE:-fs} IMAGE_STORE_DIR=${IMAGE_STORE_DIR:-$DATA_DIR/images}
if [[ $IMAGE_STORE == s3 ]]; then
  export S3_ENDPOINT=${S3_ENDPOINT-http://127.0.0.1:9000}
  if [[ $S3_ENDPOINT == http://127.0.0.1:* || $S3_ENDPOINT == http://localhost:* ]]; then
    services+=" s3"
    export S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-shop-local} S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-shop-local-development-only}
  fi
fi
export STACK_SERVICES=${STACK_SERVICES:-$services}
# TEMPORAL_BACKEND=postgres: the Temporal server on PostgreSQL (deploy/stack.sh's
# temporal-pg, on its own port) instead of the dev server; it has no web UI.
if [[ ${TEMPORAL_BACKEND:-dev} == postgres ]]; then
  export TEMPORAL_ADDRESS=${TEMPORAL_PG_ADDRESS:-127.0.0.1:7253}
fi
HTTP_ADDR=${HTTP_ADDR:-:8000}
api_port=${HTTP_ADDR##*:}
export WEB_ADDR=${WEB_ADDR:-:3000}
web_port=${WEB_ADDR##*:}
web_note="http://localhost:$web_port        admin: http://localhost:$web_port/admin"
[[ $WEB_ADDR != off ]] || web_note="off (WEB_ADDR=off)"
export RECOMMENDER_ADDR=${RECOMMENDER_ADDR:-:8001}
export WORKER_METRICS_ADDR=${WORKER_METRICS_ADDR:-:9464}
# Go profiles (net/http/pprof) on loopback only, for `make load` and `go tool pprof`.
export PPROF_ADDR=${PPROF_ADDR-127.0.0.1:6060} WORKER_PPROF_ADDR=${WORKER_PPROF_ADDR-127.0.0.1:6061}
reco_port=${RECOMMENDER_ADDR##*:}
ui_url=${TEMPORAL_UI_URL:-http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}}
[[ ${TEMPORAL_BACKEND:-dev} != postgres || -n ${TEMPORAL_UI_URL:-} ]] || ui_url="none (TEMPORAL_BACKEND=postgres; bin/temporal --address $TEMPORAL_ADDRESS workflow list)"
GATEWAY=${GATEWAY:-1}

pids=()
gateway_started=
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping"
  [[ -z $gateway_started ]] || deploy/nginx/gateway.sh stop || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  deploy/stack.sh down
}
trap cleanup INT TERM EXIT

echo "==> services: $STACK_SERVICES"
deploy/stack.sh up

# A signing key kept in .data/, so sessions survive a restart of `make run`.
if [[ -z ${JWT_SIGNING_KEYS:-} ]]; then
  mkdir -p "$DATA_DIR"
  if [[ ! -s $DATA_DIR/jwt-dev.key ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$DATA_DIR/jwt-dev.key")
  fi
  JWT_SIGNING_KEYS="dev:$(cat "$DATA_DIR/jwt-dev.key")"
  export JWT_SIGNING_KEYS
fi

echo "==> migrating"
bin/shop migrate up

# The documented demo admin; never created outside development.
DEMO_ADMIN_PASSWORD=${DEMO_ADMIN_PASSWORD:-Demo-Store-Owner-2026}
if [[ ${APP_ENV:-development} == development ]]; then
  SHOP_USER_PASSWORD=$DEMO_ADMIN_PASSWORD bin/shop user create -if-not-exists \
    -username admin -email admin@shop.local -role admin -first-name Demo -last-name Admin
fi

# A local SMTP sink keeps the shop's emails as .eml files, unless SMTP_ADDR
# points at a server that is already there.
smtp_addr=${SMTP_ADDR:-127.0.0.1:1025}
mail_note="emails go to $smtp_addr"
if ! (exec 3<>"/dev/tcp/${smtp_addr%:*}/${smtp_addr##*:}") 2>/dev/null; then
  bin/shop mailsink "$DATA_DIR/mail" &
  pids+=($!)
  mail_note="$(realpath --relative-to=. "$DATA_DIR/mail")/*.eml (SMTP sink on $smtp_addr)"
fi

bin/shop worker &
pids+=($!)
bin/shop api &
pids+=($!)

for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null || { echo "the API did not become ready" >&2; exit 1; }

echo "==> seeding the demo catalog and its past (shoppers, browsing, delivered orders)"
bin/shop seed
if [[ ${SEARCH_BACKEND:-postgres} == elasticsearch ]]; then
  echo "==> building the search index"
  bin/shop reindex
fi

echo "==> training the recommender on that past"
bin/shop recommender train
bin/shop recommender &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$reco_port/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$reco_port/readyz" >/dev/null || { echo "the recommender did not become ready" >&2; exit 1; }

# The gateway: TLS, HTTP/2, rate limits and routing in front of both
# (Debian's nginx, installed on first use; a few milliseconds to start).
gateway_note="off (GATEWAY=0)"
if [[ $GATEWAY != 0 ]]; then
  echo "==> gateway (nginx)"
  gateway_https=${GATEWAY_HTTPS_LISTEN:-8443}
  gateway_https=${gateway_https##*:}
  gateway_http=${GATEWAY_HTTP_LISTEN:-8080}
  gateway_http=${gateway_http##*:}
  if deploy/nginx/gateway.sh start; then
    gateway_started=1
    cert=${GATEWAY_TLS_CERT:-$(realpath --relative-to=. "${GATEWAY_PREFIX:-$DATA_DIR/gateway}/tls/cert.pem")}
    gateway_note="https://localhost:$gateway_https  (http://localhost:$gateway_http redirects; /metrics stays private)
      try: curl --cacert $cert 'https://localhost:$gateway_https/api/products?limit=5'"
  else
    gateway_note="not started (see above; GATEWAY=0 leaves it out)"
  fi
fi

cat <<MSG

  Shop is running.
    Storefront                           $web_note
    API (Connect, gRPC, gRPC-Web, REST)  http://localhost:$api_port
      try: curl 'http://localhost:$api_port/api/products?limit=5'
    API reference (OpenAPI, Swagger UI)  http://localhost:$api_port/docs
    Recommendations                      http://localhost:$reco_port/recommendations
      try: curl -X POST http://localhost:$reco_port/recommendations -H 'Content-Type: application/json' -d '{"limit": 5}'
      retrain now: bin/shop recommender retrain   (nightly: schedule recommender-retrain in the Temporal UI)
    Gateway (TLS, HTTP/2, rate limits)   $gateway_note
    Temporal UI                          $ui_url
    Health                               http://localhost:$api_port/healthz  /readyz
    Metrics (Prometheus)                 http://localhost:$api_port/metrics  worker: http://localhost:${WORKER_METRICS_ADDR##*:}/metrics
    Profiles (pprof, loopback only)      http://${PPROF_ADDR:-off}/debug/pprof/  worker: http://${WORKER_PPROF_ADDR:-off}/debug/pprof/
    Demo admin                           admin / $DEMO_ADMIN_PASSWORD (development only)
    Stripe webhook                       http://localhost:$api_port/webhooks/stripe
      pay an order: bin/shop stripe trigger payment_intent.succeeded --order ID
    Emails                               $mail_note

  Press Ctrl-C to stop everything this command started.

MSG
wait -n "${pids[@]}"
echo "==> a process stopped; shutting down the rest" >&2
