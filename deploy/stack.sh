#!/usr/bin/env bash
# deploy/stack.sh: the local service stack for `make run` / `make test`.
#
#   deploy/stack.sh up     [service...]   reuse or start each service, wait until ready
#   deploy/stack.sh down   [service...]   stop what this script started (pid files only)
#   deploy/stack.sh status [service...]   one line per service; exit 1 if any is not reachable
#   deploy/stack.sh logs   service        tail that service's log
#   deploy/stack.sh tools                 install the test tools: Debian's chromium
#
# Services: postgres postgres-replica redis temporal temporal-pg stripe-mock elasticsearch s3
#   (default: $STACK_SERVICES, or "postgres redis temporal stripe-mock").
#   postgres-replica is a streaming replica of postgres at $DATABASE_READ_URL (skipped when empty).
#   temporal is the CLI dev server, or with TEMPORAL_BACKEND=postgres the same as temporal-pg:
#   the Temporal server on postgres (deploy/temporal/).
#   s3 is an S3-compatible object store (versitygw, posix backend) at $S3_ENDPOINT.
# A service already reachable at its configured address is reused and never stopped.
# Otherwise a private one is started with state under $DATA_DIR (default <repo>/.data).
# See deploy/README.md for all variables.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_SERVICES=(postgres postgres-replica redis temporal temporal-pg stripe-mock elasticsearch s3)

DATABASE_URL=${DATABASE_URL:-postgres://shop:shop@127.0.0.1:5432/shop?sslmode=disable}
TEST_DATABASE_URL=${TEST_DATABASE_URL:-}
DATABASE_READ_URL=${DATABASE_READ_URL:-}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
# dev: the CLI dev server; postgres: the Temporal server on PostgreSQL (service temporal-pg).
TEMPORAL_BACKEND=${TEMPORAL_BACKEND:-dev}
case $TEMPORAL_BACKEND in
  dev) TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233} TEMPORAL_PG_ADDRESS=${TEMPORAL_PG_ADDRESS:-127.0.0.1:7253} ;;
  postgres) TEMPORAL_PG_ADDRESS=${TEMPORAL_PG_ADDRESS:-127.0.0.1:7253} TEMPORAL_ADDRESS=$TEMPORAL_PG_ADDRESS ;;
  *) printf 'stack: TEMPORAL_BACKEND must be dev or postgres (got %s)\n' "$TEMPORAL_BACKEND" >&2 && exit 1 ;;
esac
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
STRIPE_API_BASE=${STRIPE_API_BASE:-http://127.0.0.1:12111}
STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY:-}
ELASTICSEARCH_URL=${ELASTICSEARCH_URL:-http://127.0.0.1:9200}
# The S3-compatible server for product images (IMAGE_STORE=s3) and the tests.
S3_ENDPOINT=${S3_ENDPOINT:-http://127.0.0.1:9000}
S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-shop-local}
S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-shop-local-development-only}
S3_REGION=${S3_REGION:-us-east-1}

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
TEMPORAL_CLI_VERSION=${TEMPORAL_CLI_VERSION:-v1.5.1}
# The dev server's dynamic config and SQLite pragmas (empty: the CLI's defaults).
TEMPORAL_DEV_CONFIG=${TEMPORAL_DEV_CONFIG-$(dirname "${BASH_SOURCE[0]}")/temporal/dev-server.conf}
TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-v1.32.1}
TEMPORAL_PG_SHARDS=${TEMPORAL_PG_SHARDS:-8}
TEMPORAL_PG_DYNAMIC_CONFIG=${TEMPORAL_PG_DYNAMIC_CONFIG:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/temporal/dynamicconfig.yaml}
STRIPE_MOCK_VERSION=${STRIPE_MOCK_VERSION:-v0.203.0}
VERSITYGW_VERSION=${VERSITYGW_VERSION:-v1.8.0}
# Name=Type pairs; by default the list generated from internal/searchattr.
TEMPORAL_SEARCH_ATTRIBUTES=${TEMPORAL_SEARCH_ATTRIBUTES:-$(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$(dirname "${BASH_SOURCE[0]}")/search-attributes" | tr '\n' ' ')}
ES_VERSION=${ES_VERSION:-8.19.7}
ES_HEAP=${ES_HEAP:-512m}
ES_JAVA_HOME=${ES_JAVA_HOME:-}

SVC_MATCH=([postgres]=postgres [postgres-replica]=postgres [redis]=redis-server [temporal]=temporal [temporal-pg]=temporal-server [stripe-mock]=stripe-mock [elasticsearch]=elasticsearch [s3]=versitygw)
# SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to disconnect.
STOP_SIGNAL=([postgres]=INT [postgres-replica]=INT)

# ================================================================ postgres

pg_parse() {
  parse_url "$DATABASE_URL" || die "cannot parse DATABASE_URL=$DATABASE_URL"
  [[ $U_SCHEME == postgres || $U_SCHEME == postgresql ]] || die "DATABASE_URL must be postgres://..."
  PG_HOST=${U_HOST:-127.0.0.1} PG_PORT=${U_PORT:-5432} PG_USER=${U_USER:-shop} PG_PASS=$U_PASS
  PG_DB=$(pct_decode "${U_PATH#/}")
  PG_DB=${PG_DB:-$PG_USER}
  PG_SSLMODE=$(query_param sslmode "$U_QUERY" || true)
  PG_ADDR=$(hostport "$PG_HOST" "$PG_PORT")
  PG_DATA=$DATA_DIR/postgres
  PG_SOCK=$DATA_DIR/run
}

# pg_sql DB SQL...: run as the DATABASE_URL user over TCP (-X: ignore ~/.psqlrc).
pg_sql() {
  local db=$1
  shift
  PGPASSWORD=$PG_PASS PGSSLMODE=${PG_SSLMODE:-prefer} PGCONNECT_TIMEOUT=3 \
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}

pg_answers() { "$PG_BIN/pg_isready" -q -t 2 -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
pg_login() { pg_sql postgres -tAc 'select 1' >/dev/null 2>&1; }
pg_ready() { pg_answers && pg_login; }

pg_install() {
  [[ -x $PG_BIN/postgres && -x $PG_BIN/initdb ]] && return 0
  say postgres "installing postgresql-15 postgresql-contrib-15 (apt-get)..."
  apt_install postgresql-15 postgresql-contrib-15
  # The package creates and auto-starts its own cluster on 5432; it does not know our
  # role, so keep it out of the way (manual start only).
  if [[ -f /etc/postgresql/15/main/start.conf ]]; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    printf 'manual\n' >/etc/postgresql/15/main/start.conf
  fi
}

pg_initdb() {
  local log pwfile
  log=$(log_file postgres)
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  ensure_svc_user
  mkdir -p "$PG_DATA"
  chmod 700 "$PG_DATA"
  svc_own "$PG_DATA"
  make_traversable "$PG_DATA"
  local -a auth=(--auth-local=scram-sha-256 --auth-host=scram-sha-256)
  pwfile=$(mktemp "$DATA_DIR/.pgpw.XXXXXX")
  printf '%s\n' "$PG_PASS" >"$pwfile"
  svc_own "$pwfile"
  [[ -n $PG_PASS ]] || auth=(--auth-local=trust --auth-host=trust)
  if ! as_svc "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" ${PG_PASS:+"--pwfile=$pwfile"} "${auth[@]}" \
    -E UTF8 --locale=C.UTF-8 >>"$log" 2>&1; then
    rm -f "$pwfile"
    rm -rf "$PG_DATA"
    svc_fail postgres "initdb failed" "$log"
  fi
  rm -f "$pwfile"
}

pg_start() {
  local ver
  pg_install
  pg_initdb
  ver=$(cat "$PG_DATA/PG_VERSION")
  [[ $("$PG_BIN/postgres" --version) == *" $ver."* ]] ||
    die "postgres: $(rel "$PG_DATA") is a PostgreSQL $ver cluster but $PG_BIN is $("$PG_BIN/postgres" --version)"
  # Unix socket path must stay under 108 bytes.
  if ((${#PG_SOCK} > 90)); then PG_SOCK=/tmp/shopkit-pg-$PG_PORT; fi
  mkdir -p "$PG_SOCK"
  svc_own "$PG_SOCK"
  svc_prefix
  start_bg postgres "$PG_ADDR" "${AS_SVC[@]}" "$PG_BIN/postgres" -D "$PG_DATA" \
    -c "listen_addresses=$PG_HOST" -c "port=$PG_PORT" -c "unix_socket_directories=$PG_SOCK" \
    -c synchronous_commit=off -c logging_collector=off
  wait_ready postgres "${PG_START_TIMEOUT:-60}" pg_ready
}

# pg_ensure_db URL: create the database named in URL on our server if missing
# and check that the contrib extensions the app needs can be created there.
pg_ensure_db() {
  local url=$1 db
  parse_url "$url" || die "cannot parse $url"
  db=$(pct_decode "${U_PATH#/}")
  [[ -n $db ]] || return 0
  if [[ ${U_HOST:-127.0.0.1}:${U_PORT:-5432} != "$PG_HOST:$PG_PORT" ]]; then
    printf 'stack: warning: %s is on a different server than DATABASE_URL; not creating it\n' "${url%%@*}@..." >&2
    return 0
  fi
  if [[ -n $U_USER && $U_USER != "$PG_USER" ]]; then
    pg_sql postgres -v u="$U_USER" -v p="$U_PASS" <<'SQL' || die "postgres: cannot create role $U_USER"
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'u', :'p')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SQL
  fi
  pg_sql postgres -v db="$db" -v owner="${U_USER:-$PG_USER}" <<'SQL' >/dev/null 2>"$DATA_DIR/logs/.pgerr" ||
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    die "postgres: cannot create database $db: $(cat "$DATA_DIR/logs/.pgerr")"
  # Check (and roll back) rather than leave extensions behind: migrations own the schema.
  pg_sql "$db" >/dev/null 2>"$DATA_DIR/logs/.pgerr" <<'SQL' ||
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
ROLLBACK;
SQL
    die "postgres: extensions pg_trgm/unaccent unusable in $db (is postgresql-contrib installed?): $(cat "$DATA_DIR/logs/.pgerr")"
  rm -f "$DATA_DIR/logs/.pgerr"
}

pg_ensure_dbs() {
  pg_ensure_db "$DATABASE_URL"
  [[ -z $TEST_DATABASE_URL ]] || pg_ensure_db "$TEST_DATABASE_URL"
  pg_parse # restore PG_* after parsing other URLs
}

up_postgres() {
  pg_parse
  local pid='' err
  [[ -x $PG_BIN/psql ]] || pg_install
  if pid=$(our_pid postgres); then
    check_addr postgres "$PG_ADDR"
    wait_running postgres "${PG_START_TIMEOUT:-60}" pg_answers || pid=''
  fi
  if pg_answers || port_open "$PG_HOST" "$PG_PORT"; then
    if ! err=$(pg_sql postgres -tAc 'select 1' 2>&1 >/dev/null); then
      pg_answers || die "postgres: $PG_ADDR is in use by something that is not PostgreSQL"
      die "postgres: the PostgreSQL server on $PG_ADDR${pid:+ (ours, pid $pid)} rejects DATABASE_URL's credentials (user '$PG_USER'): ${err//$'\n'/ }
  Fix DATABASE_URL, create that role there, or (if it is another server, e.g. the Debian
  cluster: pg_ctlcluster 15 main stop) stop it or point DATABASE_URL at another port."
    fi
    pg_ensure_dbs
    if [[ -n $pid ]]; then
      say postgres "running on $PG_ADDR (private cluster $(rel "$PG_DATA"), pid $pid)"
    else
      say postgres "reused at $PG_ADDR"
    fi
    return
  fi
  is_loopback "$PG_HOST" || die "postgres: $PG_ADDR (DATABASE_URL) is not reachable and not local"
  pg_start
  pg_ensure_dbs
  say postgres "started on $PG_ADDR (private cluster $(rel "$PG_DATA"))"
}

status_postgres() {
  pg_parse
  [[ -x $PG_BIN/psql ]] || { say postgres "not installed"; return 1; }
  status_line postgres "$PG_ADDR" pg_ready
}

# ================================================================ postgres-replica

# A hot standby of the private primary, fed by streaming replication from a base
# backup; the app sends its stale-tolerant reads there (DATABASE_READ_URL).
replica_parse() {
  [[ -n $DATABASE_READ_URL ]] || return 1
  parse_url "$DATABASE_READ_URL" || die "cannot parse DATABASE_READ_URL"
  [[ $U_SCHEME == postgres || $U_SCHEME == postgresql ]] || die "DATABASE_READ_URL must be postgres://..."
  RP_HOST=${U_HOST:-127.0.0.1} RP_PORT=${U_PORT:-5433} RP_USER=${U_USER:-shop} RP_PASS=$U_PASS
  RP_SSLMODE=$(query_param sslmode "$U_QUERY" || true)
  RP_ADDR=$(hostport "$RP_HOST" "$RP_PORT")
  RP_DATA=$DATA_DIR/postgres-replica
  RP_SOCK=$DATA_DIR/run
  if ((${#RP_SOCK} > 90)); then RP_SOCK=/tmp/shopkit-pg-$RP_PORT; fi
}

# replica_sql SQL...: run on the replica as the DATABASE_READ_URL user.
replica_sql() {
  PGPASSWORD=$RP_PASS PGSSLMODE=${RP_SSLMODE:-prefer} PGCONNECT_TIMEOUT=3 \
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RP_HOST" -p "$RP_PORT" -U "$RP_USER" -d postgres "$@"
}

replica_ready() {
  "$PG_BIN/pg_isready" -q -t 2 -h "$RP_HOST" -p "$RP_PORT" >/dev/null 2>&1 &&
    [[ $(replica_sql -tAc 'select pg_is_in_recovery()' 2>/dev/null) == t ]]
}

replica_streaming() { [[ $(replica_sql -tAc 'select status from pg_stat_wal_receiver' 2>/dev/null) == streaming ]]; }

# pg_allow_replication: the private primary accepts replication connections
# over loopback (initdb's pg_hba.conf has the lines; an older or edited one may
# not): for the DATABASE_URL role alone, with a password (the method the
# primary stores passwords for), whatever the `host all` lines allow.
pg_allow_replication() {
  local hba=$PG_DATA/pg_hba.conf method addr added=''
  [[ -f $hba ]] || return 0 # not our cluster: its owner configures replication
  for addr in 127.0.0.1/32 ::1/128; do
    grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|'"$PG_USER"')[[:space:]]+'"${addr//./\\.}"'([[:space:]]|$)' "$hba" && continue
    [[ -n $PG_PASS ]] || die "postgres-replica: replication needs the DATABASE_URL role's password (DATABASE_URL has none)"
    if [[ -z $method ]]; then
      method=$(pg_sql postgres -tAc 'show password_encryption')
      [[ $method == md5 ]] || method=scram-sha-256
    fi
    printf '# Added by deploy/stack.sh for postgres-replica.\nhost    replication     %s             %s            %s\n' \
      "$PG_USER" "$addr" "$method" >>"$hba"
    added+=" $addr"
  done
  [[ -n $added ]] || return 0
  pg_sql postgres -tAc 'select pg_reload_conf()' >/dev/null || die "postgres-replica: cannot reload the primary's pg_hba.conf"
  say postgres-replica "allowed replication connections of $PG_USER from$added in $(rel "$hba")"
}

replica_basebackup() {
  local log
  log=$(log_file postgres-replica)
  ensure_svc_user
  rm -rf "$RP_DATA"
  mkdir -p "$RP_DATA"
  chmod 700 "$RP_DATA"
  svc_own "$RP_DATA"
  make_traversable "$RP_DATA"
  say postgres-replica "base backup of $PG_ADDR into $(rel "$RP_DATA")..."
  # -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile.
  # primary_conninfo (postgresql.auto.conf) holds the role's password: acceptable
  # for this local standby, whose data directory is git-ignored and mode 0700.
  if ! PGPASSWORD=$PG_PASS PGSSLMODE=${PG_SSLMODE:-prefer} as_svc "$PG_BIN/pg_basebackup" -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -D "$RP_DATA" -R -X stream -c fast >>"$log" 2>&1; then
    rm -rf "$RP_DATA"
    svc_fail postgres-replica "pg_basebackup from $PG_ADDR failed (does the primary allow replication from 127.0.0.1?)" "$log"
  fi
}

replica_launch() {
  mkdir -p "$RP_SOCK"
  svc_own "$RP_SOCK"
  svc_prefix
  start_bg postgres-replica "$RP_ADDR" "${AS_SVC[@]}" "$PG_BIN/postgres" -D "$RP_DATA" \
    -c "listen_addresses=$RP_HOST" -c "port=$RP_PORT" -c "unix_socket_directories=$RP_SOCK" \
    -c hot_standby=on -c logging_collector=off
  wait_ready postgres-replica "${PG_START_TIMEOUT:-60}" replica_ready
}

# replica_wait_streaming: a reused data directory may need WAL the primary no longer has.
replica_wait_streaming() {
  local deadline=$((SECONDS + ${1:-30}))
  until replica_streaming; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

up_postgres-replica() {
  local pid='' sysid
  if ! replica_parse; then
    say postgres-replica "skipped (DATABASE_READ_URL is not set)"
    return
  fi
  pg_parse
  [[ -x $PG_BIN/psql ]] || pg_install
  if pid=$(our_pid postgres-replica); then
    check_addr postgres-replica "$RP_ADDR"
    wait_running postgres-replica "${PG_START_TIMEOUT:-60}" replica_ready || pid=''
  fi
  if port_open "$RP_HOST" "$RP_PORT"; then
    replica_ready || die "postgres-replica: $RP_ADDR${pid:+ (ours, pid $pid)} answers, but not as a hot standby that accepts DATABASE_READ_URL's credentials"
    # A test run that died while it had paused replay must not leave the standby behind.
    if [[ $(replica_sql -tAc 'select pg_get_wal_replay_pause_state()' 2>/dev/null) != 'not paused' ]]; then
      replica_sql -tAc 'select pg_wal_replay_resume()' >/dev/null 2>&1 &&
        say postgres-replica "resumed its paused replay" ||
        say postgres-replica "replay is paused and $RP_USER cannot resume it (pg_wal_replay_resume)"
    fi
    if [[ -n $pid ]]; then
      say postgres-replica "running on $RP_ADDR (private standby $(rel "$RP_DATA"), pid $pid)"
    else
      say postgres-replica "reused at $RP_ADDR"
    fi
    return
  fi
  is_loopback "$RP_HOST" || die "postgres-replica: $RP_ADDR (DATABASE_READ_URL) is not reachable and not local"
  pg_ready || die "postgres-replica: the primary $PG_ADDR (DATABASE_URL) must be up first (deploy/stack.sh up postgres postgres-replica)"
  [[ $(pg_sql postgres -tAc 'show wal_level') != minimal ]] ||
    die "postgres-replica: the primary $PG_ADDR runs with wal_level=minimal; streaming needs replica (the default)"
  pg_allow_replication
  # Reuse the standby's data only when it was copied from this very primary.
  sysid=$(pg_sql postgres -tAc 'select system_identifier from pg_control_system()')
  if [[ ! -f $RP_DATA/standby.signal ]] ||
    [[ $("$PG_BIN/pg_controldata" "$RP_DATA" 2>/dev/null | sed -n 's/^Database system identifier: *//p') != "$sysid" ]]; then
    replica_basebackup
  fi
  replica_launch
  if ! replica_wait_streaming 30; then
    say postgres-replica "not streaming from $PG_ADDR (WAL it needs is gone?); taking a new base backup"
    # Its data is replaced only once nothing serves it any more (stop_pid fails
    # harmlessly when it already exited, and dies when it cannot kill it).
    stop_pid postgres-replica || true
    ! port_open "$RP_HOST" "$RP_PORT" ||
      die "postgres-replica: $RP_ADDR still answers after stopping; $(rel "$RP_DATA") is kept"
    replica_basebackup
    replica_launch
    replica_wait_streaming 60 || svc_fail postgres-replica "started but does not stream from $PG_ADDR" "$(log_file postgres-replica)"
  fi
  say postgres-replica "started on $RP_ADDR (private standby of $PG_ADDR, $(rel "$RP_DATA"))"
}

status_postgres-replica() {
  if ! replica_parse; then
    say postgres-replica "not configured (DATABASE_READ_URL is empty)"
    return 0
  fi
  pg_parse
  [[ -x $PG_BIN/psql ]] || { say postgres-replica "not installed"; return 1; }
  status_line postgres-replica "$RP_ADDR" replica_ready
}

# ================================================================ redis

redis_parse() {
  parse_url "$REDIS_URL" || die "cannot parse REDIS_URL=$REDIS_URL"
  RD_HOST=${U_HOST:-127.0.0.1} RD_PORT=${U_PORT:-6379} RD_PASS=$U_PASS
  RD_ADDR=$(hostport "$RD_HOST" "$RD_PORT")
}

redis_ready() { [[ $(redis-cli --no-auth-warning -u "$REDIS_URL" ping 2>/dev/null) == PONG ]]; }

redis_listening() { port_open "$RD_HOST" "$RD_PORT"; }

up_redis() {
  redis_parse
  local pid=''
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    say redis "installing redis-server (apt-get)..."
    apt_install redis-server
  fi
  if pid=$(our_pid redis); then
    check_addr redis "$RD_ADDR"
    wait_running redis 20 redis_listening || pid=''
  fi
  if redis_listening; then
    redis_ready || die "redis: $RD_ADDR${pid:+ (ours, pid $pid)} is in use but does not answer PING for REDIS_URL (not Redis, or wrong password?)"
    if [[ -n $pid ]]; then say redis "running on $RD_ADDR (private, pid $pid)"; else say redis "reused at $RD_ADDR"; fi
    return
  fi
  is_loopback "$RD_HOST" || die "redis: $RD_ADDR (REDIS_URL) is not reachable and not local"
  mkdir -p "$DATA_DIR/redis"
  start_bg redis "$RD_ADDR" redis-server --bind "$RD_HOST" --port "$RD_PORT" --dir "$DATA_DIR/redis" \
    --daemonize no --save '' --appendonly no ${RD_PASS:+--requirepass "$RD_PASS"}
  wait_ready redis "${REDIS_START_TIMEOUT:-20}" redis_ready
  say redis "started on $RD_ADDR (private, no persistence)"
}

status_redis() {
  redis_parse
  status_line redis "$RD_ADDR" redis_ready
}

# ================================================================ temporal

# Two ways to run Temporal, chosen by TEMPORAL_BACKEND (the `temporal` service):
#   dev       the CLI dev server (SQLite, one history shard), tuned with deploy/temporal/dev-server.conf
#   postgres  the Temporal server on PostgreSQL with TEMPORAL_PG_SHARDS history shards
#             (service temporal-pg; deploy/temporal/postgres.yaml and dynamicconfig.yaml)

temporal_parse() {
  TP_HOST=${TEMPORAL_ADDRESS%:*} TP_PORT=${TEMPORAL_ADDRESS##*:}
  TP_HOST=${TP_HOST#[}
  TP_HOST=${TP_HOST%]}
  [[ $TP_PORT =~ ^[0-9]+$ ]] || die "TEMPORAL_ADDRESS must be host:port (got $TEMPORAL_ADDRESS)"
  TP_CLI=$BIN_DIR/temporal
}

temporal_ns_ready() {
  port_open "$TP_HOST" "$TP_PORT" &&
    "$TP_CLI" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$1" --command-timeout 5s >/dev/null 2>&1
}
temporal_ready() { temporal_ns_ready default; }

# temporal_ensure_ns NAMESPACE: create it if missing (idempotent).
temporal_ensure_ns() {
  local out
  temporal_ns_ready "$1" && return 0
  out=$("$TP_CLI" operator namespace create --address "$TEMPORAL_ADDRESS" -n "$1" 2>&1) ||
    [[ $out == *"already"* ]] || die "temporal: cannot create namespace $1: $out"
}

# temporal_ensure_ns_and_attrs: namespace and search attributes exist (idempotent).
# A just-created namespace takes a few seconds to reach every service, hence the retries.
temporal_ensure_ns_and_attrs() {
  local out sa deadline=$((SECONDS + 60))
  temporal_ensure_ns "$TEMPORAL_NAMESPACE"
  # One at a time: a server that has some of them (an older release's) gets the rest.
  for sa in $TEMPORAL_SEARCH_ATTRIBUTES; do
    until out=$("$TP_CLI" operator search-attribute create --address "$TEMPORAL_ADDRESS" \
      -n "$TEMPORAL_NAMESPACE" --name "${sa%%=*}" --type "${sa#*=}" 2>&1); do
      [[ $out == *"already exists"* && $out != *"different type"* ]] && break
      [[ $out == *"not found"* && $SECONDS -lt $deadline ]] ||
        die "temporal: cannot create search attribute $sa in namespace $TEMPORAL_NAMESPACE: $out"
      sleep 1
    done
  done
}

# temporal_dev_args: the dev server's tuning, from TEMPORAL_DEV_CONFIG (lines
# `dynamic KEY=JSON` and `pragma NAME=VALUE`; see deploy/temporal/dev-server.conf).
temporal_dev_args() {
  local kind kv
  [[ -n $TEMPORAL_DEV_CONFIG ]] || return 0
  [[ -f $TEMPORAL_DEV_CONFIG ]] || die "temporal: TEMPORAL_DEV_CONFIG=$TEMPORAL_DEV_CONFIG does not exist"
  while read -r kind kv _; do
    case $kind in
      '' | '#'*) ;;
      dynamic) args+=(--dynamic-config-value "$kv") ;;
      pragma) args+=(--sqlite-pragma "$kv") ;;
      *) die "temporal: $(rel "$TEMPORAL_DEV_CONFIG"): unknown line '$kind $kv'" ;;
    esac
  done <"$TEMPORAL_DEV_CONFIG"
}

up_temporal() {
  temporal_parse
  local pid='' sa ui
  ui="UI http://$(hostport "$TP_HOST" "$TEMPORAL_UI_PORT")"
  ensure_go_tool temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  if pid=$(our_pid temporal); then
    check_addr temporal "$TEMPORAL_ADDRESS"
    wait_running temporal "${TEMPORAL_START_TIMEOUT:-90}" temporal_ready || pid=''
  fi
  if port_open "$TP_HOST" "$TP_PORT"; then
    temporal_ready || die "temporal: $TEMPORAL_ADDRESS is in use but is not answering as a Temporal frontend"
    temporal_ensure_ns_and_attrs
    if [[ -n $pid ]]; then
      say temporal "running on $TEMPORAL_ADDRESS, $ui (private, pid $pid)"
    else
      say temporal "reused at $TEMPORAL_ADDRESS"
    fi
    return
  fi
  is_loopback "$TP_HOST" || die "temporal: $TEMPORAL_ADDRESS (TEMPORAL_ADDRESS) is not reachable and not local"
  port_open "$TP_HOST" "$TEMPORAL_UI_PORT" &&
    die "temporal: UI port $TEMPORAL_UI_PORT is already taken (set TEMPORAL_UI_PORT)"
  mkdir -p "$DATA_DIR/temporal"
  local -a args=(server start-dev --ip "$TP_HOST" --port "$TP_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$DATA_DIR/temporal/temporal.db" --log-level warn)
  [[ $TEMPORAL_NAMESPACE == default ]] || args+=(--namespace "$TEMPORAL_NAMESPACE")
  for sa in $TEMPORAL_SEARCH_ATTRIBUTES; do args+=(--search-attribute "$sa"); done
  temporal_dev_args
  start_bg temporal "$TEMPORAL_ADDRESS" "$TP_CLI" "${args[@]}"
  wait_ready temporal "${TEMPORAL_START_TIMEOUT:-90}" temporal_ready
  temporal_ensure_ns_and_attrs
  say temporal "started on $TEMPORAL_ADDRESS, $ui (state $(rel "$DATA_DIR/temporal")${TEMPORAL_DEV_CONFIG:+, tuned by $(rel "$TEMPORAL_DEV_CONFIG")})"
}

status_temporal() {
  temporal_parse
  if [[ ! -x $TP_CLI ]]; then
    if port_open "$TP_HOST" "$TP_PORT"; then say temporal "port open at $TEMPORAL_ADDRESS ($(rel "$TP_CLI") missing, cannot check)"; else say temporal "down ($(rel "$TP_CLI") not built)"; fi
    return 1
  fi
  status_line temporal "$TEMPORAL_ADDRESS" temporal_ready
}

# ================================================================ temporal-pg

# The Temporal server (frontend, history, matching and worker in one process) on
# the stack's PostgreSQL, in the databases temporal and temporal_visibility,
# created with the DATABASE_URL role. Its frontend listens on TEMPORAL_PG_ADDRESS;
# the other services take the next ports (see deploy/temporal/postgres.yaml).
tpg_parse() {
  temporal_parse
  [[ $TEMPORAL_PG_SHARDS =~ ^[1-9][0-9]*$ ]] || die "TEMPORAL_PG_SHARDS must be a positive integer (got $TEMPORAL_PG_SHARDS)"
  TPG_SERVER=$BIN_DIR/temporal-server
  TPG_SQL_TOOL=$BIN_DIR/temporal-sql-tool
}

temporal_cluster_ready() {
  port_open "$TP_HOST" "$TP_PORT" &&
    "$TP_CLI" operator cluster health --address "$TEMPORAL_ADDRESS" --command-timeout 5s 2>/dev/null | grep -q SERVING
}

# tpg_sql_tool DB ARGS...: temporal-sql-tool against DB on the stack's server
# (the password goes through the environment, not the command line), with
# DATABASE_URL's sslmode if it has one.
tpg_sql_tool() {
  local db=$1
  shift
  SQL_PASSWORD=$PG_PASS SQL_CONNECT_ATTRIBUTES=${PG_SSLMODE:+sslmode=$PG_SSLMODE} "$TPG_SQL_TOOL" --plugin postgres12 --ep "$PG_HOST" -p "$PG_PORT" -u "$PG_USER" --db "$db" "$@"
}

# tpg_schema: create both databases and bring their schemas to this server
# version's (temporal-sql-tool with the schemas embedded in it; idempotent).
tpg_schema() {
  local db dir log
  log=$(log_file temporal-pg-schema)
  for db in temporal:temporal temporal_visibility:visibility; do
    dir=${db#*:} db=${db%%:*}
    pg_sql postgres -v db="$db" <<'SQL' >/dev/null || die "temporal-pg: cannot create database $db"
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    if [[ -z $(pg_sql "$db" -tAc "select to_regclass('schema_version')") ]]; then
      tpg_sql_tool "$db" setup-schema -v 0.0 >>"$log" 2>&1 || svc_fail temporal-pg "setup-schema of $db failed" "$log"
    fi
    tpg_sql_tool "$db" update-schema --schema-name "postgresql/v12/$dir" >>"$log" 2>&1 ||
      svc_fail temporal-pg "update-schema of $db failed" "$log"
  done
  # The shard count is fixed once the cluster exists: a different one would not start.
  local have
  have=$(pg_sql temporal -tAc 'select count(*) from shards')
  if ((have > 0 && have != TEMPORAL_PG_SHARDS)); then
    die "temporal-pg: the cluster in database temporal has $have history shards, not TEMPORAL_PG_SHARDS=$TEMPORAL_PG_SHARDS.
  Set TEMPORAL_PG_SHARDS=$have, or drop both databases (its workflows are lost):
  psql \"\$DATABASE_URL\" -c 'drop database temporal' -c 'drop database temporal_visibility'"
  fi
}

up_temporal-pg() {
  local TEMPORAL_ADDRESS=$TEMPORAL_PG_ADDRESS
  tpg_parse
  pg_parse
  local pid=''
  ensure_go_tool temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  if pid=$(our_pid temporal-pg); then
    check_addr temporal-pg "$TEMPORAL_ADDRESS"
    wait_running temporal-pg "${TEMPORAL_START_TIMEOUT:-90}" temporal_cluster_ready || pid=''
  fi
  if port_open "$TP_HOST" "$TP_PORT"; then
    temporal_cluster_ready || die "temporal-pg: $TEMPORAL_ADDRESS is in use but is not answering as a Temporal frontend"
    # Not a dev server that happens to listen there: this backend is about the persistence.
    [[ $("$TP_CLI" operator cluster describe --address "$TEMPORAL_ADDRESS" -o json 2>/dev/null) == *'"persistenceStore": "postgres'* ]] ||
      die "temporal-pg: the Temporal server at $TEMPORAL_ADDRESS does not persist to PostgreSQL (a dev server?); set TEMPORAL_PG_ADDRESS to a free port"
  else
    is_loopback "$TP_HOST" || die "temporal-pg: $TEMPORAL_ADDRESS (TEMPORAL_PG_ADDRESS) is not reachable and not local"
    pg_ready || die "temporal-pg: PostgreSQL at $PG_ADDR (DATABASE_URL) must be up first (deploy/stack.sh up postgres temporal-pg)"
    ensure_go_tool temporal-server "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" server
    ensure_go_tool temporal-sql-tool "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" sql
    tpg_schema
    # The config template reads these from the environment (so the password is
    # in neither a file, the command line nor the log).
    TEMPORAL_PG_HOST=$TP_HOST TEMPORAL_PG_PORT=$TP_PORT TEMPORAL_PG_SHARDS=$TEMPORAL_PG_SHARDS \
      TEMPORAL_PG_DB_ADDR=$PG_ADDR TEMPORAL_PG_DB_USER=$PG_USER TEMPORAL_PG_DB_PASSWORD=$PG_PASS TEMPORAL_PG_DB_SSLMODE=$PG_SSLMODE \
      TEMPORAL_PG_DYNAMIC_CONFIG=$TEMPORAL_PG_DYNAMIC_CONFIG TEMPORAL_PG_LOG_LEVEL=${TEMPORAL_PG_LOG_LEVEL:-warn} \
      start_bg temporal-pg "$TEMPORAL_ADDRESS" "$TPG_SERVER" --config-file "$REPO_ROOT/deploy/temporal/postgres.yaml" --allow-no-auth start
    wait_ready temporal-pg "${TEMPORAL_START_TIMEOUT:-90}" temporal_cluster_ready
    pid=started
  fi
  # Unlike the dev server, the server registers no namespace by itself.
  temporal_ensure_ns default
  temporal_ensure_ns_and_attrs
  case $pid in
    '') say temporal-pg "reused at $TEMPORAL_ADDRESS" ;;
    started) say temporal-pg "started on $TEMPORAL_ADDRESS ($TEMPORAL_PG_SHARDS history shards, PostgreSQL $PG_ADDR databases temporal, temporal_visibility)" ;;
    *) say temporal-pg "running on $TEMPORAL_ADDRESS (private, pid $pid)" ;;
  esac
}

status_temporal-pg() {
  local TEMPORAL_ADDRESS=$TEMPORAL_PG_ADDRESS
  tpg_parse
  [[ -x $TP_CLI ]] || { say temporal-pg "down ($(rel "$TP_CLI") not built)"; return 1; }
  status_line temporal-pg "$TEMPORAL_ADDRESS" temporal_cluster_ready
}

# ================================================================ stripe-mock

stripe_parse() {
  parse_url "$STRIPE_API_BASE" || die "cannot parse STRIPE_API_BASE=$STRIPE_API_BASE"
  SM_HOST=${U_HOST:-127.0.0.1} SM_PORT=${U_PORT:-12111}
  SM_ADDR=$(hostport "$SM_HOST" "$SM_PORT")
}

# stripe_wanted: only mock when no live key is configured and the base URL is local.
stripe_wanted() {
  [[ -z $STRIPE_SECRET_KEY || $STRIPE_SECRET_KEY == sk_test_* ]] && is_loopback "$SM_HOST" && [[ $U_SCHEME == http ]]
}

stripe_ready() {
  local body
  body=$(curl -sS --max-time 3 -H 'Authorization: Bearer sk_test_123' "${STRIPE_API_BASE%/}/v1/customers" 2>/dev/null) || return 1
  [[ $body == *'"object"'* ]]
}

up_stripe-mock() {
  stripe_parse
  local pid=''
  if ! stripe_wanted; then
    say stripe-mock "skipped (STRIPE_SECRET_KEY is not a test key or STRIPE_API_BASE is not local http)"
    return
  fi
  if pid=$(our_pid stripe-mock); then
    check_addr stripe-mock "$SM_ADDR"
    wait_running stripe-mock 30 stripe_ready || pid=''
  fi
  if port_open "$SM_HOST" "$SM_PORT"; then
    stripe_ready || die "stripe-mock: $SM_ADDR is in use but does not answer like the Stripe API"
    if [[ -n $pid ]]; then say stripe-mock "running on $SM_ADDR (private, pid $pid)"; else say stripe-mock "reused at $SM_ADDR"; fi
    return
  fi
  ensure_go_tool stripe-mock "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  # -http-addr alone still opens the default HTTPS listener on all interfaces (:12112);
  # pin that one to an ephemeral loopback port instead.
  start_bg stripe-mock "$SM_ADDR" "$BIN_DIR/stripe-mock" -http-addr "$SM_ADDR" -https-addr "$(hostport "$SM_HOST" 0)"
  wait_ready stripe-mock "${STRIPE_MOCK_START_TIMEOUT:-30}" stripe_ready
  say stripe-mock "started on $SM_ADDR"
}

status_stripe-mock() {
  stripe_parse
  stripe_wanted || { say stripe-mock "not used (live key or non-local STRIPE_API_BASE)"; return 0; }
  status_line stripe-mock "$SM_ADDR" stripe_ready
}

# ================================================================ elasticsearch

es_parse() {
  parse_url "$ELASTICSEARCH_URL" || die "cannot parse ELASTICSEARCH_URL=$ELASTICSEARCH_URL"
  ES_HOST=${U_HOST:-127.0.0.1} ES_PORT=${U_PORT:-9200}
  ES_ADDR=$(hostport "$ES_HOST" "$ES_PORT")
  ES_HOME=$DATA_DIR/elasticsearch-$ES_VERSION
  ES_STATE=$DATA_DIR/es
}

# es_ready: a genuine Elasticsearch node (X-Elastic-Product header, which go-elasticsearch/v8
# checks) whose cluster is at least yellow. Not GET /: the integ-test-zip has no rest-root
# module, so `/` answers 405 there (no "tagline").
es_ready() {
  local out
  out=$(curl -sS -i --max-time 8 "${ELASTICSEARCH_URL%/}/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null) || return 1
  grep -qi '^X-Elastic-Product: Elasticsearch' <<<"$out" || return 1
  [[ $out == *'"status":"green"'* || $out == *'"status":"yellow"'* ]]
}

es_java_home() {
  if [[ -z $ES_JAVA_HOME ]]; then
    if [[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]]; then
      ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
    elif command -v java >/dev/null; then
      ES_JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    else
      say elasticsearch "installing openjdk-17-jre-headless (apt-get)..."
      apt_install openjdk-17-jre-headless
      ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
    fi
  fi
  [[ -x $ES_JAVA_HOME/bin/java ]] || die "elasticsearch: no java at ES_JAVA_HOME=$ES_JAVA_HOME"
}

# es_install: the integ-test-zip distribution from Maven, unpacked once per version.
es_install() {
  local zip=$DATA_DIR/cache/elasticsearch-$ES_VERSION.zip log tmp
  log=$(log_file install)
  [[ -x $ES_HOME/bin/elasticsearch ]] && return 0
  if [[ ! -s $zip ]]; then
    command -v mvn >/dev/null || {
      say elasticsearch "installing maven (apt-get)..."
      apt_install maven
    }
    say elasticsearch "fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION with mvn..."
    mkdir -p "$DATA_DIR/cache"
    mvn -q -B dependency:copy \
      "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      "-DoutputDirectory=$DATA_DIR/cache" >>"$log" 2>&1 || svc_fail elasticsearch "mvn dependency:copy failed" "$log"
    [[ -s $zip ]] || svc_fail elasticsearch "mvn did not produce $(rel "$zip")" "$log"
  fi
  command -v unzip >/dev/null || apt_install unzip
  tmp=$(mktemp -d "$DATA_DIR/.es-unzip.XXXXXX")
  unzip -q "$zip" -d "$tmp" || {
    rm -rf "$tmp"
    die "elasticsearch: cannot unzip $(rel "$zip")"
  }
  [[ -x $tmp/elasticsearch-$ES_VERSION/bin/elasticsearch ]] || {
    rm -rf "$tmp"
    die "elasticsearch: unexpected layout in $(rel "$zip")"
  }
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
}

es_configure() {
  mkdir -p "$ES_STATE/data" "$ES_STATE/logs" "$ES_STATE/tmp"
  {
    printf '# Written by deploy/stack.sh on every start; edits are overwritten.\n'
    printf 'cluster.name: shopkit-local\nnode.name: shopkit-local\n'
    printf 'discovery.type: single-node\n'
    printf 'network.host: %s\nhttp.port: %s\n' "$ES_HOST" "$ES_PORT"
    printf 'path.data: %s\npath.logs: %s\n' "$ES_STATE/data" "$ES_STATE/logs"
    printf 'cluster.routing.allocation.disk.threshold_enabled: false\n'
    printf 'action.destructive_requires_name: false\n'
    # Only distributions that ship x-pack-security know this setting (unknown settings are fatal).
    if [[ -d $ES_HOME/modules/x-pack-security ]]; then printf 'xpack.security.enabled: false\n'; fi
    if [[ $(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0) -lt 262144 ]]; then
      # Too few mmap areas for Lucene's mmap directory; use NIO instead of hitting the limit.
      printf 'node.store.allow_mmap: false\n'
    fi
  } >"$ES_HOME/config/elasticsearch.yml"
  svc_own "$ES_HOME" "$ES_STATE"
  make_traversable "$ES_HOME"
}

up_elasticsearch() {
  es_parse
  local pid='' t0
  if pid=$(our_pid elasticsearch); then
    check_addr elasticsearch "$ES_ADDR"
    wait_running elasticsearch "${ES_START_TIMEOUT:-180}" es_ready || pid=''
  fi
  if port_open "$ES_HOST" "$ES_PORT"; then
    if ! es_ready; then
      curl -sS -i --max-time 3 "${ELASTICSEARCH_URL%/}/_cluster/health" 2>/dev/null | grep -qi '^X-Elastic-Product: Elasticsearch' &&
        die "elasticsearch: the node at $ES_ADDR answers but its cluster health is red or not reported"
      die "elasticsearch: $ES_ADDR is in use by something that is not Elasticsearch"
    fi
    if [[ -n $pid ]]; then
      say elasticsearch "running on $ES_ADDR (private node $(rel "$ES_HOME"), pid $pid)"
    else
      say elasticsearch "reused at $ES_ADDR"
    fi
    return
  fi
  is_loopback "$ES_HOST" || die "elasticsearch: $ES_ADDR (ELASTICSEARCH_URL) is not reachable and not local"
  ensure_svc_user
  es_java_home
  es_install
  es_configure
  t0=$SECONDS
  svc_prefix
  start_bg elasticsearch "$ES_ADDR" "${AS_SVC[@]}" env HOME="$ES_STATE" ES_JAVA_HOME="$ES_JAVA_HOME" \
    ES_JAVA_OPTS="${ES_JAVA_OPTS:--Xms$ES_HEAP -Xmx$ES_HEAP}" ES_TMPDIR="$ES_STATE/tmp" \
    CLI_JAVA_OPTS="-Djava.io.tmpdir=$ES_STATE/tmp" "$ES_HOME/bin/elasticsearch"
  wait_ready elasticsearch "${ES_START_TIMEOUT:-180}" es_ready
  say elasticsearch "started on $ES_ADDR in $((SECONDS - t0))s (private node $(rel "$ES_HOME"), data $(rel "$ES_STATE"))"
}

status_elasticsearch() {
  es_parse
  status_line elasticsearch "$ES_ADDR" es_ready
}

# ================================================================ s3

s3_parse() {
  parse_url "$S3_ENDPOINT" || die "cannot parse S3_ENDPOINT=$S3_ENDPOINT"
  S3_HOST=${U_HOST:-127.0.0.1} S3_PORT=${U_PORT:-9000}
  S3_ADDR=$(hostport "$S3_HOST" "$S3_PORT")
  S3_STATE=$DATA_DIR/s3
}

# s3_ready: an anonymous request answers with an S3 error document.
s3_ready() {
  local body
  body=$(curl -sS --max-time 3 "${S3_ENDPOINT%/}/" 2>/dev/null) || return 1
  [[ $body == *'<Error>'* || $body == *'ListAllMyBucketsResult'* ]]
}

up_s3() {
  s3_parse
  local pid=''
  if ! is_loopback "$S3_HOST"; then
    say s3 "skipped (S3_ENDPOINT is not local: $S3_ENDPOINT)"
    return
  fi
  if pid=$(our_pid s3); then
    check_addr s3 "$S3_ADDR"
    wait_running s3 30 s3_ready || pid=''
  fi
  if port_open "$S3_HOST" "$S3_PORT"; then
    s3_ready || die "s3: $S3_ADDR is in use but does not answer like an S3 server"
    if [[ -n $pid ]]; then say s3 "running on $S3_ADDR (private, pid $pid)"; else say s3 "reused at $S3_ADDR"; fi
    return
  fi
  ensure_go_tool versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  mkdir -p "$S3_STATE/buckets" "$S3_STATE/meta"
  # The keys reach versitygw through its environment, not its command line.
  # A sidecar directory keeps the object metadata, so the data directory
  # needs no extended attributes.
  export ROOT_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
  start_bg s3 "$S3_ADDR" "$BIN_DIR/versitygw" --port "$S3_ADDR" --region "$S3_REGION" --quiet \
    posix --sidecar "$S3_STATE/meta" "$S3_STATE/buckets"
  unset ROOT_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY
  wait_ready s3 "${S3_START_TIMEOUT:-30}" s3_ready
  say s3 "started on $S3_ADDR (versitygw $VERSITYGW_VERSION, data $(rel "$S3_STATE"))"
}

status_s3() {
  s3_parse
  status_line s3 "$S3_ADDR" s3_ready
}

# ================================================================ commands

# status_line NAME ADDR CHECK_FN
status_line() {
  local name=$1 addr=$2 fn=$3 pid
  if pid=$(our_pid "$name"); then
    if "$fn"; then say "$name" "running on $addr (private, pid $pid)"; else
      say "$name" "NOT READY on $addr (private, pid $pid; see $(rel "$(log_file "$name")"))"
      return 1
    fi
  elif "$fn"; then
    say "$name" "reachable at $addr (external, not managed here)"
  else
    say "$name" "down ($addr)"
    return 1
  fi
}

select_services() {
  local -a want
  local s a ok i
  if (($#)); then want=("$@"); else read -r -a want <<<"${STACK_SERVICES:-postgres redis temporal stripe-mock}"; fi
  # With TEMPORAL_BACKEND=postgres, Temporal is the temporal-pg service.
  if [[ $TEMPORAL_BACKEND == postgres ]]; then
    for i in "${!want[@]}"; do [[ ${want[i]} != temporal ]] || want[i]=temporal-pg; done
  fi
  SERVICES=()
  for a in "${ALL_SERVICES[@]}"; do # keep dependency order
    for s in "${want[@]}"; do [[ $s == "$a" ]] && SERVICES+=("$a") && break; done
  done
  for s in "${want[@]}"; do
    ok=
    for a in "${ALL_SERVICES[@]}"; do [[ $s == "$a" ]] && ok=1; done
    [[ -n $ok ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  done
}

cmd_up() {
  select_services "$@"
  with_lock
  local s
  for s in "${SERVICES[@]}"; do "up_$s"; done
}

cmd_down() {
  with_lock
  local -a names
  local s i
  if (($#)); then select_services "$@"; else SERVICES=("${ALL_SERVICES[@]}"); fi
  names=("${SERVICES[@]}")
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do # reverse dependency order
    s=${names[i]}
    [[ -f $(pid_file "$s") ]] || continue
    if stop_pid "$s"; then say "$s" "stopped"; else say "$s" "was not running (stale pid file removed)"; fi
  done
}

cmd_status() {
  select_services "$@"
  local s rc=0
  for s in "${SERVICES[@]}"; do "status_$s" || rc=1; done
  return $rc
}

cmd_logs() {
  (($# == 1)) || die "usage: stack.sh logs <service>"
  local f
  f=$(log_file "$1")
  [[ -f $f ]] || die "no log at $(rel "$f")"
  tail -n "${LINES:-50}" "$f"
}

main() {
  local cmd=${1:-}
  shift || true
  init_dirs
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    tools) ensure_chromium ;;
    *)
      sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
      exit 2
      ;;
  esac
}

main "$@"
