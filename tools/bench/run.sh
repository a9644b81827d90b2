#!/usr/bin/env bash
# Interpose benchmark harness: the same hey load, on loopback, against a local
# nginx origin directly and through Interpose, tinyproxy and Squid.
# See tools/bench/README.md for how to run it and how to read the table.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
LIB="$SCRIPT_DIR/benchlib.py"

ALL_TARGETS="direct,interpose,tinyproxy,squid"
DEFAULT_INTERPOSE="$REPO_ROOT/bazel-bin/source/exe/interpose"

INTERPOSE=""
DURATION="10s"
ONLY="$ALL_TARGETS"
CONNS_1K=50
CONNS_1M=10
KEEP_TMP=0
SKIP_MISSING=0
NO_BUILD=0
OUT=""
NCPU="$(nproc)"

usage() {
  cat <<EOF
Usage: tools/bench/run.sh [options]

  --interpose PATH   Interpose binary (default: bazel-bin/source/exe/interpose;
                     built with 'bazel build -c opt //source/exe:interpose' if missing)
  --no-build         never run bazel; fail/skip if the binary is missing
  --duration D       hey -z duration per case (default 10s; e.g. 5s, 1m)
  --quick            3s per case
  --only LIST        comma list of targets among: $ALL_TARGETS
                     (direct is always run: it is the baseline for "vs direct")
  --conns-1k N       hey -c for the 1 KiB case (default $CONNS_1K)
  --conns-1m N       hey -c for the 1 MiB case (default $CONNS_1M)
  --cores N          the "all cores" worker count (default: nproc = $NCPU)
  --skip-missing     skip (with a warning) targets whose tool is missing
                     instead of failing
  --out FILE         also write the final markdown (header + table) to FILE
  --keep-tmp         keep the temp dir (configs, logs, raw hey output)
  -h, --help         this text

  --mitm             intercepting (HTTPS) mode instead: runs tools/bench/run_mitm.sh
                     with the other options (see its --help)
EOF
}

die() { echo "run.sh: error: $*" >&2; exit 1; }
warn() { echo "run.sh: warning: $*" >&2; }
log() { echo "run.sh: $*" >&2; }

# --mitm: the HTTPS interception benchmark lives in its own script
for _arg in "$@"; do
  if [[ "$_arg" == --mitm ]]; then exec "$SCRIPT_DIR/run_mitm.sh" "$@"; fi
done

while (($#)); do
  case "$1" in
    --interpose) INTERPOSE="${2:?--interpose needs a path}"; shift 2 ;;
    --interpose=*) INTERPOSE="${1#*=}"; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --quick) DURATION="3s"; shift ;;
    --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    --conns-1k) CONNS_1K="${2:?}"; shift 2 ;;
    --conns-1m) CONNS_1M="${2:?}"; shift 2 ;;
    --cores) NCPU="${2:?}"; shift 2 ;;
    --skip-missing) SKIP_MISSING=1; shift ;;
    --out) OUT="${2:?--out needs a file}"; shift 2 ;;
    --out=*) OUT="${1#*=}"; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# ---------------------------------------------------------------- arguments
case "$DURATION" in
  *[0-9]s) DUR_S="${DURATION%s}" ;;
  *[0-9]m) DUR_S="$(( ${DURATION%m} * 60 ))" ;;
  *) die "--duration must look like 10s or 1m (got '$DURATION')" ;;
esac
[[ "$DUR_S" =~ ^[0-9]+$ && "$DUR_S" -gt 0 ]] || die "bad --duration '$DURATION'"
for n in "$CONNS_1K" "$CONNS_1M" "$NCPU"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$n'"
done
[[ -z "$OUT" ]] || OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

TARGETS=(direct)
IFS=',' read -r -a _only <<<"$ONLY"
for t in "${_only[@]}"; do
  t="${t// /}"
  case "$t" in
    direct|"") ;;
    interpose|tinyproxy|squid) [[ " ${TARGETS[*]} " == *" $t "* ]] || TARGETS+=("$t") ;;
    *) die "unknown target '$t' in --only (known: $ALL_TARGETS)" ;;
  esac
done

# ---------------------------------------------------------------- tools
need() {  # need CMD HINT
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found ($2)"
}
need python3 "install python3"
need hey "Debian package 'hey'"
need timeout "coreutils"
need pgrep "Debian package 'procps'"
[[ -x /usr/sbin/nginx ]] || die "/usr/sbin/nginx not found (Debian package 'nginx-light')"
NGINX=/usr/sbin/nginx

missing_target() {  # missing_target TARGET MESSAGE
  if ((SKIP_MISSING)); then
    warn "skipping $1: $2"
    local keep=() x
    for x in "${TARGETS[@]}"; do [[ "$x" == "$1" ]] || keep+=("$x"); done
    TARGETS=("${keep[@]}")
  else
    die "$2 (use --only to leave $1 out, or --skip-missing)"
  fi
}

has_target() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

TINYPROXY=/usr/bin/tinyproxy
SQUID=/usr/sbin/squid
if has_target tinyproxy && [[ ! -x "$TINYPROXY" ]]; then
  missing_target tinyproxy "$TINYPROXY not found (Debian package 'tinyproxy')"
fi
if has_target squid && [[ ! -x "$SQUID" ]]; then
  missing_target squid "$SQUID not found (Debian package 'squid-openssl')"
fi
if has_target interpose; then
  if [[ -z "$INTERPOSE" ]]; then
    INTERPOSE="$DEFAULT_INTERPOSE"
    if [[ ! -x "$INTERPOSE" ]] && ((!NO_BUILD)); then
      if command -v bazel >/dev/null 2>&1; then
        log "building Interpose: bazel build -c opt //source/exe:interpose"
        (cd "$REPO_ROOT" && bazel build -c opt //source/exe:interpose) >&2 ||
          warn "bazel build failed"
      else
        warn "bazel not found, cannot build Interpose"
      fi
    fi
  fi
  [[ "$INTERPOSE" == /* ]] || INTERPOSE="$PWD/$INTERPOSE"
  if [[ ! -x "$INTERPOSE" ]]; then
    missing_target interpose "Interpose binary not found or not executable: $INTERPOSE"
  fi
fi

# ---------------------------------------------------------------- temp dir & cleanup
TMP="$(mktemp -d /tmp/interpose-bench.XXXXXX)"
chmod 755 "$TMP"   # nginx workers (nobody) and squid kids (proxy) must reach it
SQUID_NAME="ibench$$"
STARTED=()         # pids of long-running processes we started

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
  rm -f /dev/shm/"$SQUID_NAME"-* /run/squid/"$SQUID_NAME"-* 2>/dev/null || true
  if ((KEEP_TMP)); then
    log "kept temp dir $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "run.sh: error: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

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

{ read -r ORIGIN_PORT; read -r PROXY_PORT; } < <(python3 "$LIB" freeport 2)
[[ -n "$ORIGIN_PORT" && -n "$PROXY_PORT" ]] || die "could not pick free ports"

# ---------------------------------------------------------------- origin: nginx
start_origin() {
  local d="$TMP/nginx"
  mkdir -p "$d/www" "$d/tmp"
  head -c 1024 /dev/urandom >"$d/www/1k"
  head -c 1048576 /dev/urandom >"$d/www/1m"
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
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  client_body_temp_path $d/tmp/client_body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$ORIGIN_PORT;
    root $d/www;
    default_type application/octet-stream;
    location / { }
  }
}
EOF
  start_bg nginx "$NGINX" -c "$d/nginx.conf" -p "$d" -e "$d/error.log"
  ORIGIN_PID=$BG_PID
  python3 "$LIB" wait-port "$ORIGIN_PORT" 10 || { alive_or_die "$ORIGIN_PID" nginx "$TMP/nginx.out"; die "nginx did not listen on $ORIGIN_PORT"; }
  local n
  n="$(python3 "$LIB" fetch - "http://127.0.0.1:$ORIGIN_PORT/1k" 10)" || die "origin /1k not served"
  [[ "$n" == 1024 ]] || die "origin /1k returned $n bytes"
  n="$(python3 "$LIB" fetch - "http://127.0.0.1:$ORIGIN_PORT/1m" 10)" || die "origin /1m not served"
  [[ "$n" == 1048576 ]] || die "origin /1m returned $n bytes"
}

# ---------------------------------------------------------------- proxies
# Each start_* sets PROXY_PID (root of the process tree that is measured)
# and returns once a request through the proxy succeeds.

wait_proxy_ready() {  # NAME LOGFILE
  python3 "$LIB" wait-port "$PROXY_PORT" 30 || { alive_or_die "$PROXY_PID" "$1" "$2"; die "$1 did not listen on $PROXY_PORT"; }
  python3 "$LIB" fetch "127.0.0.1:$PROXY_PORT" "http://127.0.0.1:$ORIGIN_PORT/1k" 30 >/dev/null ||
    { echo "---- $2" >&2; tail -n 30 "$2" >&2 || true; die "$1 does not forward requests"; }
}

start_interpose() {  # WORKERS
  local cfg="$TMP/interpose.yaml" log="$TMP/interpose.out" i
  cat >"$cfg" <<EOF
listeners:
  - name: proxy
    address: 127.0.0.1:$PROXY_PORT
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters:
                - name: router
EOF
  start_bg interpose "$INTERPOSE" -c "$cfg" --concurrency "$1"
  PROXY_PID=$BG_PID
  for ((i = 0; i < 300; i++)); do
    grep -q "listening on" "$log" 2>/dev/null && break
    alive_or_die "$PROXY_PID" interpose "$log"
    sleep 0.1
  done
  grep -q "listening on" "$log" || die "interpose did not print 'listening on' within 30 s"
  wait_proxy_ready interpose "$log"
}

start_tinyproxy() {
  local d="$TMP/tinyproxy"
  mkdir -p "$d"
  # tinyproxy 1.11 serves each client connection on its own thread (one
  # process); there is no worker-count knob, so it runs once, unpinned.
  cat >"$d/tinyproxy.conf" <<EOF
Port $PROXY_PORT
Listen 127.0.0.1
Timeout 600
MaxClients 10000
Allow 127.0.0.1
LogLevel Critical
LogFile "$d/tinyproxy.log"
PidFile "$d/tinyproxy.pid"
EOF
  start_bg tinyproxy "$TINYPROXY" -d -c "$d/tinyproxy.conf"
  PROXY_PID=$BG_PID
  wait_proxy_ready tinyproxy "$TMP/tinyproxy.out"
}

start_squid() {  # WORKERS
  local d="$TMP/squid" workers="$1" hard fds i n
  rm -rf "$d"; mkdir -p "$d"
  chown proxy:proxy "$d" 2>/dev/null || chmod 777 "$d"
  hard="$(ulimit -Hn)"
  fds=65536; [[ "$hard" == unlimited || "$hard" -ge 65536 ]] || fds="$hard"
  cat >"$d/squid.conf" <<EOF
http_port 127.0.0.1:$PROXY_PORT
acl bench_src src 127.0.0.1/32
http_access allow bench_src
http_access deny all
workers $workers
# no disk cache (no cache_dir), no memory cache: a plain forwarder
cache deny all
cache_mem 0 MB
access_log none
cache_store_log none
cache_log $d/cache.log
pid_filename $d/squid.pid
coredump_dir $d
pinger_enable off
shutdown_lifetime 0 seconds
max_filedescriptors $fds
EOF
  # --foreground: the master stays our child (so we can wait for it) but
  # still forks the SMP kids; -N would silently ignore 'workers'.
  start_bg squid "$SQUID" --foreground -n "$SQUID_NAME" -f "$d/squid.conf"
  PROXY_PID=$BG_PID
  for ((i = 0; i < 300; i++)); do
    n="$(grep -c "Accepting HTTP Socket" "$d/cache.log" 2>/dev/null || true)"
    ((${n:-0} >= workers)) && break
    alive_or_die "$PROXY_PID" squid "$d/cache.log"
    sleep 0.1
  done
  wait_proxy_ready squid "$d/cache.log"
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

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
declare -A DIRECT_RPS=()
HEY_TIMEOUT=$((DUR_S + 60))

case_conns() { [[ "$1" == 1k ]] && echo "$CONNS_1K" || echo "$CONNS_1M"; }
case_size() { [[ "$1" == 1k ]] && echo 1024 || echo 1048576; }
case_warmup_n() { [[ "$1" == 1k ]] && echo 2000 || echo 200; }

run_case() {  # TARGET WORKERS CASE MEASURE_PID|-
  local target="$1" workers="$2" c="$3" mpid="$4"
  local conns size url tag heyout mon monpid row rps px=()
  conns="$(case_conns "$c")"; size="$(case_size "$c")"
  url="http://127.0.0.1:$ORIGIN_PORT/$c"
  [[ "$mpid" == - ]] || px=(-x "http://127.0.0.1:$PROXY_PORT")
  tag="${target}_w${workers}_${c}"; tag="${tag//[^A-Za-z0-9_.-]/_}"
  heyout="$TMP/hey_$tag.txt"; mon="$TMP/mon_$tag.json"

  # short warm-up (bounded by -n and by timeout), not measured
  timeout -k 5 60 hey -n "$(case_warmup_n "$c")" -c "$conns" -t 0 "${px[@]}" "$url" >/dev/null 2>&1 ||
    warn "$target $c: warm-up failed"

  monpid=""
  if [[ "$mpid" != - ]]; then
    python3 "$LIB" monitor "$mpid" "$mon" 0.2 &
    monpid=$!
    STARTED+=("$monpid")
    sleep 0.1
  fi
  # in the background + wait, so that a signal to run.sh is handled at once
  local rc=0 heypid
  timeout -k 5 "$HEY_TIMEOUT" hey -z "${DUR_S}s" -c "$conns" -t 0 "${px[@]}" "$url" >"$heyout" 2>&1 &
  heypid=$!
  STARTED+=("$heypid")
  wait "$heypid" || rc=$?
  forget_pid "$heypid"
  if [[ -n "$monpid" ]]; then
    kill -TERM "$monpid" 2>/dev/null || true
    wait "$monpid" 2>/dev/null || true
    forget_pid "$monpid"
  fi
  ((rc == 0)) || warn "$target $c: hey exited with status $rc (see $heyout with --keep-tmp)"

  row="$(python3 "$LIB" row "$target" "$workers" "$c" "$conns" "$size" "$heyout" \
           "$([[ -n "$monpid" ]] && echo "$mon" || echo -)" "${DIRECT_RPS[$c]:--}")" ||
    die "could not parse hey output for $target $c: $(head -c 500 "$heyout")"
  rps="${row##*$'\t'}"
  row="${row%$'\t'*}"
  [[ "$target" == direct* ]] && DIRECT_RPS[$c]="$rps"
  printf '%s\n' "$row" >>"$RESULTS"
  # progress line
  printf '%s\n' "$row" | awk -F'\t' '{printf "  %-16s w=%-9s %-3s c=%-3s %9s req/s  p50 %6s ms  p99 %6s ms  %8s MB/s  err %s  rss %s MiB  cpu %s us/req  x%s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}' >&2
}

# ---------------------------------------------------------------- environment header
env_header() {
  local cpu kern
  cpu="$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
  kern="$(uname -r)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: ${NCPU} cores for workers, $(nproc) online ($cpu), Linux $kern"
  echo "- load: hey $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?'), -z ${DUR_S}s -t 0 (keep-alive), 1k: -c $CONNS_1K, 1m: -c $CONNS_1M; all on 127.0.0.1"
  echo "- origin: nginx $($NGINX -v 2>&1 | sed 's|.*nginx/||'), worker_processes 1, access_log off"
  has_target interpose && echo "- interpose: $INTERPOSE ($(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git rev'))"
  has_target tinyproxy && echo "- tinyproxy: $("$TINYPROXY" -v 2>&1 | awk '{print $2}') (one process, a thread per client connection; no worker knob)"
  has_target squid && echo "- squid: $("$SQUID" -v 2>/dev/null | awk '/Version/{print $NF; exit}') (no cache; workers N = SMP kids + coordinator + master)"
  true
}

# ---------------------------------------------------------------- main
WORKER_SET=(1)
((NCPU > 1)) && WORKER_SET+=("$NCPU")
CASES=(1k 1m)

log "temp dir $TMP; origin 127.0.0.1:$ORIGIN_PORT, proxies on 127.0.0.1:$PROXY_PORT"
log "targets: ${TARGETS[*]}; ${DUR_S}s per case"
start_origin

for target in "${TARGETS[@]}"; do
  case "$target" in
    direct)
      log "direct -> nginx"
      for c in "${CASES[@]}"; do run_case direct - "$c" -; done
      ;;
    interpose)
      for w in "${WORKER_SET[@]}"; do
        log "interpose --concurrency $w"
        for c in "${CASES[@]}"; do
          start_interpose "$w"; run_case interpose "$w" "$c" "$PROXY_PID"; stop_proxy
        done
      done
      ;;
    tinyproxy)
      log "tinyproxy (thread per connection)"
      for c in "${CASES[@]}"; do
        start_tinyproxy; run_case tinyproxy "thr/conn" "$c" "$PROXY_PID"; stop_proxy
      done
      ;;
    squid)
      for w in "${WORKER_SET[@]}"; do
        log "squid workers $w"
        for c in "${CASES[@]}"; do
          start_squid "$w"; run_case squid "$w" "$c" "$PROXY_PID"; stop_proxy
        done
      done
      ;;
  esac
done

REPORT="$TMP/report.md"
{
  env_header
  echo
  python3 "$LIB" table "$RESULTS"
} >"$REPORT"
echo
cat "$REPORT"
if [[ -n "$OUT" ]]; then
  cp "$REPORT" "$OUT"
  log "wrote $OUT"
fi
