# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Shared machinery of the load benchmarks (run.sh, run_mitm.sh, run_chain.sh,
# run_h2.sh); sourced, never run. Each script sets BENCH_NAME (the prefix of
# its messages) and SCRIPT_DIR, then sources this file:
#
#   BENCH_NAME=run.sh
#   SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   . "$SCRIPT_DIR/lib.sh"
#
# Conventions: TMP is the script's temp dir (bench_tmpdir), STARTED the pids
# of the long-running processes it started (stopped, newest first, on exit),
# KEEP_TMP=1 keeps TMP, PROXY_PID the proxy being measured. The Python
# helpers (ports, readiness, CPU/RSS sampling, hey parsing, the table) are in
# benchlib.py ($LIB).

REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
LIB="$SCRIPT_DIR/benchlib.py"
DEFAULT_INTERPOSE="$REPO_ROOT/bazel-bin/source/exe/interpose"
NGINX=/usr/sbin/nginx

# ---------------------------------------------------------------- messages
die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }
warn() { echo "$BENCH_NAME: warning: $*" >&2; }
log() { echo "$BENCH_NAME: $*" >&2; }

# ---------------------------------------------------------------- arguments & tools
parse_duration() {  # parse_duration D: sets DUR_S (seconds) from D = 10s or 1m
  case "$1" in
    *[0-9]s) DUR_S="${1%s}" ;;
    *[0-9]m) DUR_S="$(( ${1%m} * 60 ))" ;;
    *) die "--duration must look like 10s or 1m (got '$1')" ;;
  esac
}

positive_ints() {  # positive_ints N...: die unless each N is a positive integer
  local n
  for n in "$@"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$n'"
  done
}

abs_out() {  # abs_out FILE: FILE as an absolute path (its directory must exist)
  echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}

need() {  # need CMD HINT
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found ($2)"
}

need_nginx() {
  [[ -x "$NGINX" ]] || die "$NGINX not found (Debian package 'nginx-light')"
}

git_rev() {
  git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git rev'
}

cpu_model() {
  awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true
}

# ---------------------------------------------------------------- targets
# select_targets ONLY KNOWN [ALIAS=TARGET...]: TARGETS=(direct + the targets of the
# comma list ONLY, in order, without repeats). KNOWN is the comma list of valid
# targets (with direct), each ALIAS is accepted as another name for TARGET.
select_targets() {
  local only="$1" known="$2" t a name
  shift 2
  TARGETS=(direct)
  IFS=',' read -r -a _only <<<"$only"
  for t in "${_only[@]}"; do
    t="${t// /}"
    [[ -n "$t" && "$t" != direct ]] || continue
    name=""
    for a in "$@"; do [[ "$t" == "${a%%=*}" ]] && name="${a#*=}"; done
    if [[ -z "$name" ]]; then
      [[ ",$known," == *",$t,"* ]] || die "unknown target '$t' in --only (known: $known)"
      name="$t"
    fi
    [[ " ${TARGETS[*]} " == *" $name "* ]] || TARGETS+=("$name")
  done
}

has_target() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

missing_target() {  # missing_target TARGET MESSAGE: skip it (SKIP_MISSING=1) or die
  if ((SKIP_MISSING)); then
    warn "skipping $1: $2"
    local keep=() x
    for x in "${TARGETS[@]}"; do [[ "$x" == "$1" ]] || keep+=("$x"); done
    TARGETS=("${keep[@]}")
  else
    die "$2 (use --only to leave $1 out, or --skip-missing)"
  fi
}

# resolve_interpose [warn|die]: an empty INTERPOSE means bazel-bin's binary, built
# with bazel when it is missing (unless NO_BUILD=1); a failed build is a warning
# (the caller checks the binary) or fatal. Makes INTERPOSE absolute.
resolve_interpose() {
  local on_fail="${1:-warn}"
  if [[ -z "$INTERPOSE" ]]; then
    INTERPOSE="$DEFAULT_INTERPOSE"
    if [[ ! -x "$INTERPOSE" ]] && ((!${NO_BUILD:-0})); then
      if [[ "$on_fail" == die ]] || command -v bazel >/dev/null 2>&1; then
        log "building Interpose: bazel build -c opt //source/exe:interpose"
        (cd "$REPO_ROOT" && bazel build -c opt //source/exe:interpose) >&2 ||
          "$on_fail" "bazel build failed"
      else
        warn "bazel not found, cannot build Interpose"
      fi
    fi
  fi
  [[ "$INTERPOSE" == /* ]] || INTERPOSE="$PWD/$INTERPOSE"
}

# ---------------------------------------------------------------- temp dir, processes, cleanup
# bench_tmpdir PREFIX: TMP=/tmp/PREFIX.XXXXXX (readable by the daemons' unprivileged
# users), STARTED=(), and the EXIT/INT/TERM traps that stop everything and remove TMP.
# A script-defined on_cleanup function, if any, runs after the processes are stopped.
bench_tmpdir() {
  TMP="$(mktemp -d "/tmp/$1.XXXXXX")"
  chmod 755 "$TMP"   # nginx workers (nobody) and squid kids (proxy) must reach it
  STARTED=()         # pids of long-running processes we started
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

trap_err() {  # report the failing command and line under set -e
  trap 'echo "$BENCH_NAME: error: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
}

descendants() {  # all descendants of $1, deepest first
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    descendants "$c"
    echo "$c"
  done
}

proc_id() {  # "PID:STARTTIME" so that a recycled pid is never mistaken for ours
  local st
  st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}')" || return 0
  [[ -n "$st" ]] && echo "$1:$st"
  true
}

stop_pid() {  # stop_pid PID [SIGNAL]: signal, wait up to 10 s, then SIGKILL the tree
  local pid="$1" sig="${2:-TERM}" kids i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kids="$(for i in $(descendants "$pid"); do proc_id "$i"; done)"
  kill -s "$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    # a zombie child of ours counts as gone once reaped below
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
    warn "pid $pid did not exit on SIG$sig, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for i in $kids; do  # leftovers only: same pid *and* same start time
    [[ "$(proc_id "${i%%:*}")" == "$i" ]] && kill -KILL "${i%%:*}" 2>/dev/null
  done
  true
}

forget_pid() {
  local keep=() x
  for x in "${STARTED[@]}"; do [[ "$x" == "$1" ]] || keep+=("$x"); done
  STARTED=("${keep[@]}")
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    stop_pid "${STARTED[$i]}"
  done
  if declare -F on_cleanup >/dev/null; then on_cleanup; fi
  if ((KEEP_TMP)); then
    log "kept temp dir $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}

start_bg() {  # start_bg LOGNAME CMD...: run in background, sets BG_PID
  local name="$1"; shift
  # empty the log now: the child's own '>' happens after the fork, and a
  # readiness check must not see the previous instance's lines meanwhile
  : >"$TMP/$name.out"
  "$@" >"$TMP/$name.out" 2>&1 &
  BG_PID=$!
  STARTED+=("$BG_PID")
}

alive_or_die() {  # alive_or_die PID NAME LOGFILE
  if ! kill -0 "$1" 2>/dev/null; then
    echo "---- $3" >&2; tail -n 30 "$3" >&2 || true
    die "$2 exited during startup"
  fi
}

pick_ports() {  # sets ORIGIN_PORT and PROXY_PORT to free loopback ports
  { read -r ORIGIN_PORT; read -r PROXY_PORT; } < <(python3 "$LIB" freeport 2)
  [[ -n "$ORIGIN_PORT" && -n "$PROXY_PORT" ]] || die "could not pick free ports"
}

# ---------------------------------------------------------------- origin: nginx
# start_nginx_origin LISTEN HTTP_EXTRA SERVER_EXTRA SIZE...: nginx (one worker, no
# access log, long keep-alive) on 127.0.0.1:ORIGIN_PORT serving SIZE random bytes
# at /1k (1024) or /1m (1048576) from $TMP/nginx/www; LISTEN is the rest of the
# listen line (e.g. " ssl"), the two EXTRAs are added lines for http and server.
# Sets ORIGIN_PID once nginx listens.
start_nginx_origin() {
  local listen="$1" http_extra="$2" server_extra="$3" d="$TMP/nginx" size
  shift 3
  mkdir -p "$d/www" "$d/tmp"
  for size in "$@"; do
    case "$size" in
      1k) head -c 1024 /dev/urandom >"$d/www/1k" ;;
      1m) head -c 1048576 /dev/urandom >"$d/www/1m" ;;
    esac
  done
  chmod -R a+rX "$d/www"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
${http_extra}  keepalive_requests 100000;
  keepalive_timeout 300s;
  client_body_temp_path $d/tmp/client_body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$ORIGIN_PORT$listen;
${server_extra}    root $d/www;
    default_type application/octet-stream;
    location / { }
  }
}
EOF
  start_bg nginx "$NGINX" -c "$d/nginx.conf" -p "$d" -e "$d/error.log"
  ORIGIN_PID=$BG_PID
  python3 "$LIB" wait-port "$ORIGIN_PORT" 10 || { alive_or_die "$ORIGIN_PID" nginx "$TMP/nginx.out"; die "nginx did not listen on $ORIGIN_PORT"; }
}

check_origin() {  # check_origin URL_BASE CAFILE|- WHAT: /1k and /1m have the right sizes
  local n
  n="$(python3 "$LIB" fetch - "$1/1k" 10 "$2")" || die "origin /1k not served$3"
  [[ "$n" == 1024 ]] || die "origin /1k returned $n bytes"
  n="$(python3 "$LIB" fetch - "$1/1m" 10 "$2")" || die "origin /1m not served$3"
  [[ "$n" == 1048576 ]] || die "origin /1m returned $n bytes"
}

# ---------------------------------------------------------------- proxies
# wait_proxy_ready NAME LOGFILE URL CAFILE|- FAILURE: PROXY_PORT accepts connections
# and a GET of URL through the proxy succeeds (an https URL's certificate verified
# against CAFILE); otherwise die with the log's tail and "NAME FAILURE".
wait_proxy_ready() {
  python3 "$LIB" wait-port "$PROXY_PORT" 30 || { alive_or_die "$PROXY_PID" "$1" "$2"; die "$1 did not listen on $PROXY_PORT"; }
  python3 "$LIB" fetch "127.0.0.1:$PROXY_PORT" "$3" 30 "$4" >/dev/null ||
    { echo "---- $2" >&2; tail -n 30 "$2" >&2 || true; die "$1 $5"; }
}

start_interpose_with() {  # CONFIG ARGS...: start Interpose (PROXY_PID), wait for 'listening on'
  local log="$TMP/interpose.out" cfg="$1" i
  shift
  start_bg interpose "$INTERPOSE" -c "$cfg" "$@"
  PROXY_PID=$BG_PID
  for ((i = 0; i < 300; i++)); do
    grep -q "listening on" "$log" 2>/dev/null && break
    alive_or_die "$PROXY_PID" interpose "$log"
    sleep 0.1
  done
  grep -q "listening on" "$log" || die "interpose did not print 'listening on' within 30 s"
}

stop_proxy() {
  stop_pid "$PROXY_PID"
  forget_pid "$PROXY_PID"
  PROXY_PID=""
  # the next instance reuses the port; make sure it is free (squid kids)
  local i
  for ((i = 0; i < 50; i++)); do
    python3 "$LIB" wait-port "$PROXY_PORT" 0.05 || break
    sleep 0.1
  done
}

# Each case on a fresh proxy, for every worker count in WORKER_SET: start_TARGET N, then the
# script's run_case, then stop_proxy. LABEL is a printf format for the progress line (%s: N).
# For a proxy without a worker knob: a fresh process per case, WORKERS only labels the rows.
run_cases_one_process() {  # TARGET WORKERS LABEL
  local target="$1" workers="$2" c
  log "$3"
  for c in "${CASES[@]}"; do
    "start_$target"; run_case "$target" "$workers" "$c" "$PROXY_PID"; stop_proxy
  done
}

run_cases_per_worker_count() {  # TARGET LABEL
  local target="$1" label="$2" w c
  for w in "${WORKER_SET[@]}"; do
    # shellcheck disable=SC2059
    log "$(printf "$label" "$w")"
    for c in "${CASES[@]}"; do
      "start_$target" "$w"; run_case "$target" "$w" "$c" "$PROXY_PID"; stop_proxy
    done
  done
}

# ---------------------------------------------------------------- load (hey)
# hey_measured WHAT HEYOUT MON MEASURE_PID|- HEY_ARGS...: the measured run, hey -z DUR_S
# HEY_ARGS (bounded by timeout DUR_S + 60 s), with the process tree of MEASURE_PID
# sampled into MON meanwhile. Runs in the background + wait, so that a signal to
# the script is handled at once. Warns (about WHAT) when hey fails.
hey_measured() {
  local what="$1" heyout="$2" mon="$3" mpid="$4" monpid="" heypid rc=0
  shift 4
  if [[ "$mpid" != - ]]; then
    python3 "$LIB" monitor "$mpid" "$mon" 0.2 &
    monpid=$!
    STARTED+=("$monpid")
    sleep 0.1
  fi
  timeout -k 5 "$((DUR_S + 60))" hey -z "${DUR_S}s" "$@" >"$heyout" 2>&1 &
  heypid=$!
  STARTED+=("$heypid")
  wait "$heypid" || rc=$?
  forget_pid "$heypid"
  if [[ -n "$monpid" ]]; then
    kill -TERM "$monpid" 2>/dev/null || true
    wait "$monpid" 2>/dev/null || true
    forget_pid "$monpid"
  fi
  ((rc == 0)) || warn "$what: hey exited with status $rc (see $heyout with --keep-tmp)"
}

# hey_row TARGET WORKERS CASE CONNS SIZE HEYOUT MON|- VERSUS_RPS|-: parse hey's
# output into benchlib's result row; sets ROW (the row) and ROW_RPS (its req/s).
hey_row() {
  local row
  row="$(python3 "$LIB" row "$@")" ||
    die "could not parse hey output for $1 $3: $(head -c 500 "$6")"
  ROW_RPS="${row##*$'\t'}"
  ROW="${row%$'\t'*}"
}
