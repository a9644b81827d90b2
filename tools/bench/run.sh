#!/usr/bin/env bash
# Interpose benchmark harness: the same hey load, on loopback, against a local
# nginx origin directly and through Interpose, tinyproxy and Squid.
# See tools/bench/README.md for how to run it and how to read the table.
set -euo pipefail

BENCH_NAME=run.sh
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/lib.sh
. "$SCRIPT_DIR/lib.sh"

ALL_TARGETS="direct,interpose,tinyproxy,squid"

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
parse_duration "$DURATION"
[[ "$DUR_S" =~ ^[0-9]+$ && "$DUR_S" -gt 0 ]] || die "bad --duration '$DURATION'"
positive_ints "$CONNS_1K" "$CONNS_1M" "$NCPU"
[[ -z "$OUT" ]] || OUT="$(abs_out "$OUT")"
select_targets "$ONLY" "$ALL_TARGETS"

# ---------------------------------------------------------------- tools
need python3 "install python3"
need hey "Debian package 'hey'"
need timeout "coreutils"
need pgrep "Debian package 'procps'"
need_nginx

TINYPROXY=/usr/bin/tinyproxy
SQUID=/usr/sbin/squid
if has_target tinyproxy && [[ ! -x "$TINYPROXY" ]]; then
  missing_target tinyproxy "$TINYPROXY not found (Debian package 'tinyproxy')"
fi
if has_target squid && [[ ! -x "$SQUID" ]]; then
  missing_target squid "$SQUID not found (Debian package 'squid-openssl')"
fi
if has_target interpose; then
  resolve_interpose warn
  if [[ ! -x "$INTERPOSE" ]]; then
    missing_target interpose "Interpose binary not found or not executable: $INTERPOSE"
  fi
fi

# ---------------------------------------------------------------- temp dir & cleanup
bench_tmpdir interpose-bench
trap_err
SQUID_NAME="ibench$$"
on_cleanup() { rm -f /dev/shm/"$SQUID_NAME"-* /run/squid/"$SQUID_NAME"-* 2>/dev/null || true; }
pick_ports

# ---------------------------------------------------------------- origin: nginx
start_origin() {
  start_nginx_origin "" $'  sendfile on;\n  tcp_nopush on;\n' "" 1k 1m
  check_origin "http://127.0.0.1:$ORIGIN_PORT" - ""
}

# ---------------------------------------------------------------- proxies
# Each start_* sets PROXY_PID (root of the process tree that is measured)
# and returns once a request through the proxy succeeds.

proxy_ready() {  # NAME LOGFILE
  wait_proxy_ready "$1" "$2" "http://127.0.0.1:$ORIGIN_PORT/1k" - "does not forward requests"
}

start_interpose() {  # WORKERS
  local cfg="$TMP/interpose.yaml"
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
  start_interpose_with "$cfg" --concurrency "$1"
  proxy_ready interpose "$TMP/interpose.out"
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
  proxy_ready tinyproxy "$TMP/tinyproxy.out"
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
  proxy_ready squid "$d/cache.log"
}

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
declare -A DIRECT_RPS=()

case_conns() { [[ "$1" == 1k ]] && echo "$CONNS_1K" || echo "$CONNS_1M"; }
case_size() { [[ "$1" == 1k ]] && echo 1024 || echo 1048576; }
case_warmup_n() { [[ "$1" == 1k ]] && echo 2000 || echo 200; }

run_case() {  # TARGET WORKERS CASE MEASURE_PID|-
  local target="$1" workers="$2" c="$3" mpid="$4"
  local conns size url tag heyout mon px=()
  conns="$(case_conns "$c")"; size="$(case_size "$c")"
  url="http://127.0.0.1:$ORIGIN_PORT/$c"
  [[ "$mpid" == - ]] || px=(-x "http://127.0.0.1:$PROXY_PORT")
  tag="${target}_w${workers}_${c}"; tag="${tag//[^A-Za-z0-9_.-]/_}"
  heyout="$TMP/hey_$tag.txt"; mon="$TMP/mon_$tag.json"

  # short warm-up (bounded by -n and by timeout), not measured
  timeout -k 5 60 hey -n "$(case_warmup_n "$c")" -c "$conns" -t 0 "${px[@]}" "$url" >/dev/null 2>&1 ||
    warn "$target $c: warm-up failed"

  hey_measured "$target $c" "$heyout" "$mon" "$mpid" -c "$conns" -t 0 "${px[@]}" "$url"
  hey_row "$target" "$workers" "$c" "$conns" "$size" "$heyout" \
    "$([[ "$mpid" != - ]] && echo "$mon" || echo -)" "${DIRECT_RPS[$c]:--}"
  [[ "$target" == direct* ]] && DIRECT_RPS[$c]="$ROW_RPS"
  printf '%s\n' "$ROW" >>"$RESULTS"
  # progress line
  printf '%s\n' "$ROW" | awk -F'\t' '{printf "  %-16s w=%-9s %-3s c=%-3s %9s req/s  p50 %6s ms  p99 %6s ms  %8s MB/s  err %s  rss %s MiB  cpu %s us/req  x%s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}' >&2
}

# ---------------------------------------------------------------- environment header
env_header() {
  local cpu kern
  cpu="$(cpu_model)"
  kern="$(uname -r)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: ${NCPU} cores for workers, $(nproc) online ($cpu), Linux $kern"
  echo "- load: hey $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?'), -z ${DUR_S}s -t 0 (keep-alive), 1k: -c $CONNS_1K, 1m: -c $CONNS_1M; all on 127.0.0.1"
  echo "- origin: nginx $($NGINX -v 2>&1 | sed 's|.*nginx/||'), worker_processes 1, access_log off"
  has_target interpose && echo "- interpose: $INTERPOSE ($(git_rev))"
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
    interpose) run_cases_per_worker_count interpose "interpose --concurrency %s" ;;
    tinyproxy) run_cases_one_process tinyproxy "thr/conn" "tinyproxy (thread per connection)" ;;
    squid) run_cases_per_worker_count squid "squid workers %s" ;;
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
