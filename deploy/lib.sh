# shellcheck shell=bash
# shellcheck disable=SC2034 # U_* / AS_SVC / SVC_MATCH are globals read by stack.sh
# deploy/lib.sh: helpers shared by the local-stack scripts (sourced, not executed).
#
# Conventions: every long-running service we start gets
#   $DATA_DIR/pids/<name>.pid   its pid (also its process-group id: started via setsid)
#   $DATA_DIR/logs/<name>.log   its stdout+stderr
# and only processes with a pid file are ever stopped by `down`.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_DIR=${DATA_DIR:-$REPO_ROOT/.data}
BIN_DIR=${BIN_DIR:-$REPO_ROOT/bin}
SVC_USER=${STACK_SVC_USER:-shopsvc}   # non-root owner of postgres / elasticsearch state
STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-15} # seconds between the polite signal and SIGKILL

# Go may live outside a non-login PATH.
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) [[ -d /usr/local/go/bin ]] && PATH=$PATH:/usr/local/go/bin ;; esac

# ---------------------------------------------------------------- output

# say NAME MESSAGE: the one status line per service.
say() { printf '%-13s %s\n' "$1" "$2"; }

die() {
  printf 'stack: %s\n' "$*" >&2
  exit 1
}

# svc_fail NAME MESSAGE [LOGFILE]: fail loudly, with the tail of the log.
svc_fail() {
  local name=$1 msg=$2 log=${3:-}
  printf '%-13s FAILED: %s\n' "$name" "$msg" >&2
  if [[ -n $log && -s $log ]]; then
    printf -- '---- last 40 lines of %s ----\n' "$(rel "$log")" >&2
    tail -n 40 "$log" >&2
    printf -- '----\n' >&2
  fi
  exit 1
}

# rel PATH: PATH relative to the repo root when inside it (for messages).
rel() {
  case $1 in
    "$REPO_ROOT"/*) printf '%s' "${1#"$REPO_ROOT"/}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# ---------------------------------------------------------------- setup

init_dirs() {
  mkdir -p "$DATA_DIR"
  DATA_DIR=$(cd "$DATA_DIR" && pwd)
  mkdir -p "$DATA_DIR/pids" "$DATA_DIR/logs" "$BIN_DIR"
  BIN_DIR=$(cd "$BIN_DIR" && pwd)
  # Keep the state out of git without touching the repo's own .gitignore.
  [[ -e $DATA_DIR/.gitignore ]] || printf '*\n' >"$DATA_DIR/.gitignore"
}

# with_lock: serialize concurrent up/down runs (e.g. `make run` and `make test`).
with_lock() {
  exec 9>"$DATA_DIR/.stack.lock"
  if ! flock -n 9; then
    printf 'stack: waiting for another stack.sh run to finish...\n' >&2
    flock -w 900 9 || die "could not get $DATA_DIR/.stack.lock within 15 minutes"
  fi
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------- URLs

# pct_decode STRING
pct_decode() {
  local s=${1//+/ }
  printf '%b' "${s//%/\\x}"
}

# parse_url URL: sets U_SCHEME U_USER U_PASS U_HOST U_PORT U_PATH U_QUERY (host without [ ]).
parse_url() {
  local re='^([A-Za-z][A-Za-z0-9+.-]*)://(([^:@/]*)(:([^@/]*))?@)?(\[[^]/]*\]|[^:/?#]*)(:([0-9]+))?(/[^?#]*)?(\?([^#]*))?'
  [[ $1 =~ $re ]] || return 1
  U_SCHEME=${BASH_REMATCH[1]}
  U_USER=$(pct_decode "${BASH_REMATCH[3]}")
  U_PASS=$(pct_decode "${BASH_REMATCH[5]}")
  U_HOST=${BASH_REMATCH[6]}
  U_HOST=${U_HOST#[}
  U_HOST=${U_HOST%]}
  U_PORT=${BASH_REMATCH[8]}
  U_PATH=${BASH_REMATCH[9]}
  U_QUERY=${BASH_REMATCH[11]}
}

# query_param NAME QUERY
query_param() {
  local kv
  local IFS='&'
  for kv in $2; do
    [[ ${kv%%=*} == "$1" ]] && {
      pct_decode "${kv#*=}"
      return 0
    }
  done
  return 1
}

is_loopback() {
  case $1 in
    localhost | 127.* | ::1 | '[::1]') return 0 ;;
    *) return 1 ;;
  esac
}

# hostport HOST PORT: printable address (brackets for IPv6).
hostport() {
  case $1 in *:*) printf '[%s]:%s' "$1" "$2" ;; *) printf '%s:%s' "$1" "$2" ;; esac
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- processes

pid_file() { printf '%s/pids/%s.pid' "$DATA_DIR" "$1"; }
log_file() { printf '%s/logs/%s.log' "$DATA_DIR" "$1"; }

# proc_state PID: one-letter state (R, S, Z, ...) or nothing when gone.
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  printf '%s' "${stat%% *}"
}

# alive PID: exists and is not a zombie.
alive() {
  local st
  st=$(proc_state "$1") || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# our_pid NAME: print the pid from NAME's pid file when that process is alive and
# still looks like NAME (guards against pid reuse); removes a stale pid file.
declare -A SVC_MATCH=()
declare -A STOP_SIGNAL=()
our_pid() {
  local f pid cmd
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  pid=$(head -n1 "$f" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [[ -z ${SVC_MATCH[$1]:-} || $cmd == *"${SVC_MATCH[$1]}"* ]]; then
      printf '%s' "$pid"
      return 0
    fi
  fi
  rm -f "$f"
  return 1
}

# start_bg NAME ADDR CMD...: start CMD detached in its own session (pgid = pid),
# stdout/stderr appended to NAME's log, pid recorded in NAME's pid file and the
# address it serves in pids/NAME.addr (see check_addr).
start_bg() {
  local name=$1 addr=$2 log pid
  shift 2
  log=$(log_file "$name")
  printf '\n==== %s stack.sh starting %s: %s\n' "$(date '+%F %T')" "$name" "$*" >>"$log"
  # Not a process-group leader here (no job control), so setsid(1) execs without forking
  # and $! is the service's own pid. fd 9 (the stack lock) must not leak into services.
  setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
  pid=$!
  disown "$pid" # it outlives this script; no job-status noise if we must kill it
  printf '%s\n' "$pid" >"$(pid_file "$name")"
  printf '%s\n' "$addr" >"$DATA_DIR/pids/$name.addr"
}

# proc_tree PID: PID and all its live descendants, plus every live member of its
# process group (postgres backends call setsid, so the group alone is not enough).
proc_tree() {
  local root=$1 f stat rest pid st ppid pg
  local -A kids=()
  local -a group=() queue out
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    pid=${stat%% *}
    rest=${stat##*) }
    read -r st ppid pg _ <<<"$rest"
    [[ $st == Z || $st == X ]] && continue
    kids[$ppid]+=" $pid"
    [[ $pg == "$root" ]] && group+=("$pid")
  done
  queue=("$root")
  out=()
  while ((${#queue[@]})); do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    out+=("$pid")
    # shellcheck disable=SC2206 # word-splitting the child list is intended
    [[ -n ${kids[$pid]:-} ]] && queue+=(${kids[$pid]})
  done
  printf '%s\n' "${out[@]}" "${group[@]}" | sort -un
}

# any_alive PID...: at least one of them is still a live (non-zombie) process.
any_alive() {
  local p
  for p in "$@"; do alive "$p" && return 0; done
  return 1
}

# check_addr NAME ADDR: our running NAME was started for ADDR (else a changed URL
# would be waited for in vain, or a second copy started on the same state).
check_addr() {
  local f=$DATA_DIR/pids/$1.addr old
  [[ -f $f ]] || return 0
  old=$(head -n1 "$f")
  [[ $old == "$2" ]] ||
    die "$1: the private $1 started by stack.sh serves $old, but the configured address is now $2; run 'deploy/stack.sh down $1' first"
}

# stop_pid NAME: stop what NAME's pid file points at, with its process group and
# descendants: ${STOP_SIGNAL[NAME]:-TERM} first, SIGKILL after $STOP_TIMEOUT s; waits
# until all of them are gone. Returns 1 when there was nothing (alive) to stop.
stop_pid() {
  local name=$1 sig=${STOP_SIGNAL[$1]:-TERM} pid i p
  local -a procs
  if ! pid=$(our_pid "$name"); then
    rm -f "$(pid_file "$name")" "$DATA_DIR/pids/$name.addr"
    return 1
  fi
  mapfile -t procs < <(proc_tree "$pid")
  if [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]]; then
    kill -s "$sig" -- "-$pid" 2>/dev/null || true
  else
    kill -s "$sig" -- "$pid" 2>/dev/null || true
  fi
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    any_alive "${procs[@]}" || break
    sleep 0.2
  done
  if any_alive "${procs[@]}"; then
    printf '%-13s did not stop within %ss, sending SIGKILL\n' "$name" "$STOP_TIMEOUT" >&2
    for p in "${procs[@]}"; do kill -s KILL -- "$p" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
      any_alive "${procs[@]}" || break
      sleep 0.2
    done
  fi
  rm -f "$(pid_file "$name")" "$DATA_DIR/pids/$name.addr"
  ! any_alive "${procs[@]}" || die "$name (pid $pid) is still running after SIGKILL"
}

# wait_ready NAME TIMEOUT_S CHECK_FN [ARGS...]: for a process this run just started:
# poll CHECK_FN until it succeeds. Fails fast when the process died; on timeout stops
# it again. Either way prints the tail of its log and exits.
wait_ready() {
  local name=$1 timeout=$2 fn=$3 pid deadline
  shift 3
  pid=$(head -n1 "$(pid_file "$name")" 2>/dev/null || true)
  deadline=$((SECONDS + timeout))
  while ! "$fn" "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      rm -f "$(pid_file "$name")"
      svc_fail "$name" "process exited during startup" "$(log_file "$name")"
    fi
    if ((SECONDS >= deadline)); then
      stop_pid "$name" || true
      svc_fail "$name" "not ready within ${timeout}s (stopped it again)" "$(log_file "$name")"
    fi
    sleep 0.5
  done
}

# wait_running NAME TIMEOUT_S CHECK_FN [ARGS...]: for a process an earlier run started
# (pid file alive): give it TIMEOUT_S to answer CHECK_FN. Never stops it. Returns 1
# (pid file removed) when it exited meanwhile, so the caller starts a new one.
wait_running() {
  local name=$1 timeout=$2 fn=$3 pid deadline
  shift 3
  pid=$(our_pid "$name") || return 1
  deadline=$((SECONDS + timeout))
  while ! "$fn" "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      rm -f "$(pid_file "$name")"
      return 1
    fi
    ((SECONDS < deadline)) ||
      svc_fail "$name" "pid $pid (started earlier by stack.sh) does not answer after ${timeout}s; left running; 'deploy/stack.sh down $name' restarts it" "$(log_file "$name")"
    sleep 0.5
  done
}

# ---------------------------------------------------------------- installing

APT_UPDATED=
apt_install() {
  local log
  log=$(log_file install)
  local -a sudo=()
  if ! is_root; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
      die "need root to apt-get install $*; install them and re-run"
    fi
    sudo=(sudo -n)
  fi
  if [[ -z $APT_UPDATED ]]; then
    "${sudo[@]}" apt-get update >>"$log" 2>&1 || svc_fail apt "apt-get update failed" "$log"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "$@" >>"$log" 2>&1 ||
    svc_fail apt "apt-get install $* failed" "$log"
}

# ensure_svc_user: the system user that owns postgres / elasticsearch state
# (both refuse to run as root). Non-root callers run them as themselves.
# ensure_chromium: Debian's chromium, for the tests that open pages in a
# headless browser (the /docs screenshot test).
ensure_chromium() {
  if command -v chromium >/dev/null; then
    say chromium "present ($(command -v chromium))"
    return 0
  fi
  say chromium "installing Debian's chromium (apt-get)..."
  apt_install chromium
}

ensure_svc_user() {
  is_root || return 0
  id -u "$SVC_USER" >/dev/null 2>&1 && return 0
  useradd --system --user-group --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin "$SVC_USER" || die "useradd $SVC_USER failed"
}

# svc_prefix: sets AS_SVC to the command prefix that runs a program as the service user
# (setpriv execs, so no extra parent process stays around; empty when not root).
svc_prefix() {
  AS_SVC=()
  if is_root; then AS_SVC=(setpriv "--reuid=$SVC_USER" "--regid=$SVC_USER" --init-groups --); fi
}

# as_svc CMD...: run CMD as the service user.
as_svc() {
  svc_prefix
  "${AS_SVC[@]}" "$@"
}

# svc_own PATH...: hand PATHs to the service user.
svc_own() {
  is_root || return 0
  chown -R "$SVC_USER:$SVC_USER" "$@"
}

# make_traversable DIR: the service user must be able to reach DIR
# (adds o+x to the parent directories that lack it, and says so).
make_traversable() {
  is_root || return 0
  local d=$1 p="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${d#/}"
  for part in "${parts[@]}"; do
    p=$p/$part
    if ! as_svc test -x "$p" 2>/dev/null; then
      chmod o+x "$p"
      printf 'stack: chmod o+x %s (so %s can reach %s)\n' "$p" "$SVC_USER" "$(rel "$d")" >&2
    fi
  done
}

# ---------------------------------------------------------------- Go tools

# go_build_running PKG: pid of a `go install/build` of PKG already running (e.g. `make tools`).
go_build_running() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
    case $cmd in
      *go\ install*"$1"* | *go\ build*"$1"*)
        f=${f#/proc/}
        printf '%s' "${f%%/*}"
        return 0
        ;;
    esac
  done
  return 1
}

# ensure_go_tool NAME PKG@VERSION [BUILT]: $BIN_DIR/NAME, built with `go install` when
# missing; BUILT is the name go install gives it when that is not NAME (the last path
# element). Waits for a concurrent build of the same package instead of starting a second one.
ensure_go_tool() {
  local name=$1 spec=$2 built=${3:-$1} bin=$BIN_DIR/$1 pid log waited=0 gobin=$BIN_DIR
  log=$(log_file "build-$name")
  while [[ ! -x $bin ]] && pid=$(go_build_running "${spec%@*}"); do
    ((waited)) || say "$name" "waiting for a go install of ${spec%@*} already running (pid $pid)..."
    waited=1
    while alive "$pid"; do sleep 2; done
  done
  [[ -x $bin ]] && return 0
  command -v go >/dev/null || die "$name: $(rel "$bin") is missing and go is not installed"
  say "$name" "building $(rel "$bin") (GOBIN=$(rel "$BIN_DIR") go install $spec, log $(rel "$log"))..."
  local t0=$SECONDS
  [[ $built == "$name" ]] || gobin=$(mktemp -d "$BIN_DIR/.build-$name.XXXXXX")
  if ! (cd "$REPO_ROOT" && GOBIN=$gobin GOFLAGS=${GOFLAGS:-} go install "$spec") >>"$log" 2>&1; then
    [[ $gobin == "$BIN_DIR" ]] || rm -rf "$gobin"
    svc_fail "$name" "go install $spec failed" "$log"
  fi
  if [[ $gobin != "$BIN_DIR" ]]; then
    mv "$gobin/$built" "$bin" 2>/dev/null || true
    rm -rf "$gobin"
  fi
  [[ -x $bin ]] || svc_fail "$name" "go install $spec did not produce $(rel "$bin")" "$log"
  say "$name" "built $(rel "$bin") in $((SECONDS - t0))s"
}
