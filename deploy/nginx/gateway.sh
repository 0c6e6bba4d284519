#!/usr/bin/env bash
# deploy/nginx/gateway.sh: the Nginx gateway in front of the API, the
# storefront and admin (shop api's WEB_ADDR) and the recommendation service
# (TLS on :8443, HTTP on :8080), run without root from a prefix directory
# under .data/.
#
#   gateway.sh install   install Debian's nginx when missing (apt-get)
#   gateway.sh cert      make the self-signed localhost certificate when missing
#   gateway.sh render    write PREFIX/conf/nginx.conf (+ gateway.conf) from the templates
#   gateway.sh start     render and start it in the background (reload when running)
#   gateway.sh run       render and run it in the foreground
#   gateway.sh stop      stop the one `start` started
#   gateway.sh status    say whether it runs
#
# Variables (defaults in brackets; README, "The gateway"):
#   GATEWAY_HTTP_LISTEN [8080]  GATEWAY_HTTPS_LISTEN [8443]   port or addr:port
#   GATEWAY_API_UPSTREAMS [127.0.0.1:<HTTP_ADDR's port>]      host:port list (space or comma)
#   GATEWAY_RECOMMENDER_UPSTREAMS [127.0.0.1:<RECOMMENDER_ADDR's port>]
#   GATEWAY_WEB_UPSTREAMS [127.0.0.1:<WEB_ADDR's port>; $GATEWAY_API_UPSTREAMS when WEB_ADDR=off]
#   GATEWAY_TLS_CERT, GATEWAY_TLS_KEY [$GATEWAY_PREFIX/tls/{cert,key}.pem, made when missing]
#   GATEWAY_PREFIX [$DATA_DIR/gateway]                        conf/, logs/, tmp/, run/
#   GATEWAY_RATE [20r/s] GATEWAY_BURST [40]                   per client IP
#   GATEWAY_AUTH_RATE [10r/m] GATEWAY_AUTH_BURST [5]          logins and registrations per IP
#   GATEWAY_CONN_LIMIT [64]                                   open connections per IP
#   GATEWAY_WORKERS [auto]  GATEWAY_NGINX [/usr/sbin/nginx]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

GW_DIR=$REPO_ROOT/deploy/nginx
GATEWAY_NGINX=${GATEWAY_NGINX:-/usr/sbin/nginx}
SVC_MATCH[gateway]=nginx
STOP_SIGNAL[gateway]=QUIT # graceful: finish the requests in flight

# The variables the templates use, in the order they are documented.
GW_VARS=(GATEWAY_HTTP_LISTEN GATEWAY_HTTPS_LISTEN GATEWAY_HTTPS_REDIRECT_PORT
  GATEWAY_API_SERVERS GATEWAY_RECOMMENDER_SERVERS GATEWAY_WEB_SERVERS
  GATEWAY_TLS_CERT GATEWAY_TLS_KEY GATEWAY_RATE GATEWAY_BURST GATEWAY_AUTH_RATE
  GATEWAY_AUTH_BURST GATEWAY_CONN_LIMIT GATEWAY_WORKERS)

gw_settings() {
  init_dirs
  GATEWAY_PREFIX=${GATEWAY_PREFIX:-$DATA_DIR/gateway}
  mkdir -p "$GATEWAY_PREFIX"
  GATEWAY_PREFIX=$(cd "$GATEWAY_PREFIX" && pwd)
  GATEWAY_HTTP_LISTEN=${GATEWAY_HTTP_LISTEN:-8080}
  GATEWAY_HTTPS_LISTEN=${GATEWAY_HTTPS_LISTEN:-8443}
  local api=${HTTP_ADDR:-:8000} reco=${RECOMMENDER_ADDR:-:8001} web=${WEB_ADDR:-:3000}
  GATEWAY_API_UPSTREAMS=${GATEWAY_API_UPSTREAMS:-127.0.0.1:${api##*:}}
  GATEWAY_RECOMMENDER_UPSTREAMS=${GATEWAY_RECOMMENDER_UPSTREAMS:-127.0.0.1:${reco##*:}}
  # The web listener of shop api; without one (WEB_ADDR=off) the API answers
  # the rest (404).
  if [[ $web == off ]]; then
    GATEWAY_WEB_UPSTREAMS=${GATEWAY_WEB_UPSTREAMS:-$GATEWAY_API_UPSTREAMS}
  else
    GATEWAY_WEB_UPSTREAMS=${GATEWAY_WEB_UPSTREAMS:-127.0.0.1:${web##*:}}
  fi
  GATEWAY_TLS_CERT=${GATEWAY_TLS_CERT:-}
  GATEWAY_TLS_KEY=${GATEWAY_TLS_KEY:-}
  GW_SELF_SIGNED=
  if [[ -z $GATEWAY_TLS_CERT && -z $GATEWAY_TLS_KEY ]]; then
    GATEWAY_TLS_CERT=$GATEWAY_PREFIX/tls/cert.pem GATEWAY_TLS_KEY=$GATEWAY_PREFIX/tls/key.pem GW_SELF_SIGNED=1
  fi
  [[ -n $GATEWAY_TLS_CERT && -n $GATEWAY_TLS_KEY ]] || die "gateway: set both GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (or neither)"
  GATEWAY_RATE=${GATEWAY_RATE:-20r/s}
  GATEWAY_BURST=${GATEWAY_BURST:-40}
  GATEWAY_AUTH_RATE=${GATEWAY_AUTH_RATE:-10r/m}
  GATEWAY_AUTH_BURST=${GATEWAY_AUTH_BURST:-5}
  GATEWAY_CONN_LIMIT=${GATEWAY_CONN_LIMIT:-64}
  # Whole requests per second or minute, as nginx takes them and as the
  # template's Retry-After table reads them.
  local var
  for var in GATEWAY_RATE GATEWAY_AUTH_RATE; do
    [[ ${!var} =~ ^[1-9][0-9]*r/[sm]$ ]] || die "gateway: $var=${!var} is not <n>r/s or <n>r/m"
  done
  GATEWAY_WORKERS=${GATEWAY_WORKERS:-auto}
  local port=${GATEWAY_HTTPS_LISTEN##*:}
  GATEWAY_HTTPS_REDIRECT_PORT=:$port
  [[ $port != 443 ]] || GATEWAY_HTTPS_REDIRECT_PORT=
  GATEWAY_API_SERVERS=$(gw_servers GATEWAY_API_UPSTREAMS "$GATEWAY_API_UPSTREAMS")
  GATEWAY_RECOMMENDER_SERVERS=$(gw_servers GATEWAY_RECOMMENDER_UPSTREAMS "$GATEWAY_RECOMMENDER_UPSTREAMS")
  GATEWAY_WEB_SERVERS=$(gw_servers GATEWAY_WEB_UPSTREAMS "$GATEWAY_WEB_UPSTREAMS")
}

# gw_servers NAME LIST: one upstream `server` line per host:port; an instance
# failing 3 times within 10 s is left out for 10 s (passive health checks).
gw_servers() {
  local name=$1 addr n=0 re='^[][A-Za-z0-9.:_-]+:[0-9]+$'
  local -a addrs
  read -r -a addrs <<<"${2//,/ }"
  for addr in "${addrs[@]}"; do
    [[ $addr =~ $re ]] || die "gateway: $name: '$addr' is not host:port"
    printf '    server %s max_fails=3 fail_timeout=10s;\n' "$addr"
    n=$((n + 1))
  done
  ((n)) || die "gateway: $name is empty"
}

gw_install() {
  [[ -x $GATEWAY_NGINX ]] && return 0
  [[ $GATEWAY_NGINX == /usr/sbin/nginx ]] || die "gateway: GATEWAY_NGINX=$GATEWAY_NGINX does not exist"
  say gateway "installing nginx (apt-get)..."
  apt_install nginx
  # The package enables (and, where allowed, starts) a system nginx on :80
  # with /etc/nginx; ours runs from its own prefix. Keep the system one off.
  if [[ -s /run/nginx.pid ]]; then # the system one only, by its own pid file
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl stop nginx >/dev/null 2>&1 || true
    else
      /etc/init.d/nginx stop >/dev/null 2>&1 || true
    fi
  fi
  if command -v systemctl >/dev/null; then systemctl disable nginx >/dev/null 2>&1 || true; fi
  update-rc.d nginx disable >/dev/null 2>&1 || true
}

# gw_cert: a self-signed certificate for localhost and 127.0.0.1 (EC P-256,
# valid for 825 days, the longest browsers accept), made once.
gw_cert() {
  [[ -n $GW_SELF_SIGNED ]] || return 0
  [[ -s $GATEWAY_TLS_CERT && -s $GATEWAY_TLS_KEY ]] && return 0
  command -v openssl >/dev/null || die "gateway: openssl is needed to make the self-signed certificate"
  mkdir -p "$(dirname "$GATEWAY_TLS_CERT")"
  local log
  log=$(log_file gateway)
  if ! (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$GATEWAY_TLS_KEY" -out "$GATEWAY_TLS_CERT" -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "extendedKeyUsage=serverAuth") >>"$log" 2>&1; then
    rm -f "$GATEWAY_TLS_CERT" "$GATEWAY_TLS_KEY"
    svc_fail gateway "openssl could not make the self-signed certificate" "$log"
  fi
  chmod 644 "$GATEWAY_TLS_CERT"
  say gateway "made a self-signed certificate for localhost: $(rel "$GATEWAY_TLS_CERT")"
}

# gw_subst FILE: FILE with every ${GATEWAY_*} of GW_VARS replaced.
gw_subst() {
  local text var
  text=$(<"$1")
  for var in "${GW_VARS[@]}"; do
    text=${text//"\${$var}"/"${!var}"}
  done
  [[ $text != *'${GATEWAY_'* ]] || die "gateway: $1 uses an unknown variable: $(grep -o '\${GATEWAY_[A-Z_]*}' <<<"$text" | sort -u | tr '\n' ' ')"
  printf '%s\n' "$text"
}

gw_render() {
  gw_cert
  mkdir -p "$GATEWAY_PREFIX"/{conf,logs,tmp,run}
  gw_subst "$GW_DIR/gateway.conf.template" >"$GATEWAY_PREFIX/conf/gateway.conf"
  gw_subst "$GW_DIR/nginx.conf.template" >"$GATEWAY_PREFIX/conf/nginx.conf"
}

gw_nginx() { "$GATEWAY_NGINX" -p "$GATEWAY_PREFIX/" -c conf/nginx.conf -e logs/error.log "$@"; }

gw_check() {
  local out
  out=$(gw_nginx -t -q 2>&1) || {
    printf '%s\n' "$out" >&2
    die "gateway: nginx rejects $(rel "$GATEWAY_PREFIX")/conf/nginx.conf"
  }
}

gw_url() { printf 'https://localhost%s' "$GATEWAY_HTTPS_REDIRECT_PORT"; }

gw_ready() {
  local port=${GATEWAY_HTTPS_LISTEN##*:}
  port_open 127.0.0.1 "$port"
}

cmd=${1:-}
case $cmd in
  install)
    gw_settings
    gw_install
    ;;
  cert)
    gw_settings
    gw_cert
    ;;
  render)
    gw_settings
    gw_render
    printf '%s\n' "$GATEWAY_PREFIX/conf/nginx.conf"
    ;;
  start)
    gw_settings
    gw_install
    gw_render
    gw_check
    if pid=$(our_pid gateway); then
      kill -HUP "$pid" # re-reads the configuration, no request dropped
      say gateway "reloaded on $(gw_url) (pid $pid)"
      exit 0
    fi
    start_bg gateway "$GATEWAY_HTTPS_LISTEN" "$GATEWAY_NGINX" -p "$GATEWAY_PREFIX/" -c conf/nginx.conf -e logs/error.log
    wait_ready gateway 20 gw_ready
    say gateway "started on $(gw_url) and http://localhost:${GATEWAY_HTTP_LISTEN##*:} (logs $(rel "$GATEWAY_PREFIX")/logs)"
    ;;
  run)
    gw_settings
    gw_install
    gw_render
    gw_check
    say gateway "serving $(gw_url) and http://localhost:${GATEWAY_HTTP_LISTEN##*:}; Ctrl-C stops it"
    exec "$GATEWAY_NGINX" -p "$GATEWAY_PREFIX/" -c conf/nginx.conf -e logs/error.log
    ;;
  stop)
    gw_settings
    if stop_pid gateway; then say gateway "stopped"; else say gateway "was not running"; fi
    ;;
  status)
    gw_settings
    if pid=$(our_pid gateway); then
      say gateway "running on $(gw_url) (pid $pid)"
    else
      say gateway "not running"
      exit 1
    fi
    ;;
  *)
    sed -n '2,26s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
