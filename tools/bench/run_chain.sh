#!/usr/bin/env bash
# What a realistic HTTP filter chain costs: the same hey load (1 KiB, keep-alive, plain
# HTTP) through Interpose with --concurrency 1, once with the bare router chain and once
# with access_log (to a file) + header_rewrite + rate_limit (never trips) + router, in one
# sitting and alternating, so both see the same machine. Prints req/s, CPU us/req and the
# full chain's cost in % of the bare chain's req/s (target: at most 15%).
# Uses tools/bench/benchlib.py (ports, readiness, CPU sampling, hey parsing, the table).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
LIB="$SCRIPT_DIR/benchlib.py"

INTERPOSE=""
DURATION="10s"
CONNS=50
ROUNDS=2
KEEP_TMP=0
BREAKDOWN=0
TARGET_PCT=15

usage() {
  cat <<EOF
Usage: tools/bench/run_chain.sh [options]

  --interpose PATH   Interpose binary (default: bazel-bin/source/exe/interpose;
                     built with 'bazel build -c opt //source/exe:interpose' if missing)
  --duration D       hey -z duration per run (default $DURATION; e.g. 5s, 1m)
  --quick            3s per run, one round
  --rounds N         bare/full pairs to run, alternating (default $ROUNDS); the
                     summary uses the mean of each chain's runs
  --conns N          hey -c (default $CONNS)
  --breakdown        also run router + each filter alone (access_log, header_rewrite,
                     rate_limit), once per round, to see which one costs what
  --keep-tmp         keep the temp dir (configs, logs, raw hey output)
  -h, --help         this text
EOF
}

die() { echo "run_chain.sh: error: $*" >&2; exit 1; }
warn() { echo "run_chain.sh: warning: $*" >&2; }
log() { echo "run_chain.sh: $*" >&2; }

while (($#)); do
  case "$1" in
    --interpose) INTERPOSE="${2:?--interpose needs a path}"; shift 2 ;;
    --interpose=*) INTERPOSE="${1#*=}"; shift ;;
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --quick) DURATION="3s"; ROUNDS=1; shift ;;
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --conns) CONNS="${2:?}"; shift 2 ;;
    --breakdown) BREAKDOWN=1; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

case "$DURATION" in
  *[0-9]s) DUR_S="${DURATION%s}" ;;
  *[0-9]m) DUR_S="$(( ${DURATION%m} * 60 ))" ;;
  *) die "--duration must look like 10s or 1m (got '$DURATION')" ;;
esac
for n in "$DUR_S" "$CONNS" "$ROUNDS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$n'"
done

for cmd in python3 hey timeout; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found"
done
NGINX=/usr/sbin/nginx
[[ -x "$NGINX" ]] || die "$NGINX not found (Debian package 'nginx-light')"

if [[ -z "$INTERPOSE" ]]; then
  INTERPOSE="$REPO_ROOT/bazel-bin/source/exe/interpose"
  if [[ ! -x "$INTERPOSE" ]]; then
    log "building Interpose: bazel build -c opt //source/exe:interpose"
    (cd "$REPO_ROOT" && bazel build -c opt //source/exe:interpose) >&2 || die "bazel build failed"
  fi
fi
[[ "$INTERPOSE" == /* ]] || INTERPOSE="$PWD/$INTERPOSE"
[[ -x "$INTERPOSE" ]] || die "Interpose binary not found or not executable: $INTERPOSE"

# ---------------------------------------------------------------- temp dir & cleanup
TMP="$(mktemp -d /tmp/interpose-chain.XXXXXX)"
chmod 755 "$TMP"   # nginx workers (nobody) must reach the files
STARTED=()         # pids of the long-running processes we started

stop_pid() {  # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL (that pid only)
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "pid $pid did not exit on SIGTERM, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

forget_pid() {
  local keep=() x
  for x in "${STARTED[@]}"; do [[ "$x" == "$1" ]] || keep+=("$x"); done
  STARTED=("${keep[@]}")
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[$i]}"; done
  if ((KEEP_TMP)); then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_bg() {  # start_bg LOGNAME CMD...: sets BG_PID
  local name="$1"; shift
  : >"$TMP/$name.out"
  "$@" >"$TMP/$name.out" 2>&1 &
  BG_PID=$!
  STARTED+=("$BG_PID")
}

{ read -r ORIGIN_PORT; read -r PROXY_PORT; } < <(python3 "$LIB" freeport 2)
[[ -n "$ORIGIN_PORT" && -n "$PROXY_PORT" ]] || die "could not pick free ports"

# ---------------------------------------------------------------- origin: nginx (as run.sh)
start_origin() {
  local d="$TMP/nginx"
  mkdir -p "$d/www" "$d/tmp"
  head -c 1024 /dev/urandom >"$d/www/1k"
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
  python3 "$LIB" wait-port "$ORIGIN_PORT" 10 || die "nginx did not listen on $ORIGIN_PORT"
  [[ "$(python3 "$LIB" fetch - "http://127.0.0.1:$ORIGIN_PORT/1k" 10)" == 1024 ]] || die "origin /1k not served"
}

# ---------------------------------------------------------------- the two chains
# write_config NAME FILTERS_YAML: an Interpose config with those http_filters.
write_config() {
  cat >"$TMP/$1.yaml" <<EOF
listeners:
  - name: proxy
    address: 127.0.0.1:$PROXY_PORT
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters:
$2
EOF
}

ROUTER='                - name: router'
ACCESS_LOG="                - name: access_log
                  config: { path: $TMP/access.log }"
HEADER_REWRITE='                - name: header_rewrite
                  config:
                    request: { set: { x-bench: "1" }, remove: [x-unused] }
                    response: { set: { x-proxied-by: interpose } }'
# Never trips: one bucket per client address, refilled far faster than hey can ask.
RATE_LIMIT='                - name: rate_limit
                  config: { key: [client_ip], rate: 1000000000/s }'

write_config bare "$ROUTER"
FULL_FILTERS="access_log + header_rewrite + rate_limit + router"
write_config full "$ACCESS_LOG
$HEADER_REWRITE
$RATE_LIMIT
$ROUTER"
NOTE=""
if ! "$INTERPOSE" --mode validate -c "$TMP/full.yaml" >"$TMP/validate.out" 2>&1; then
  NOTE="header_rewrite left out: this binary rejects it ($(head -n 1 "$TMP/validate.out"))"
  warn "$NOTE"
  FULL_FILTERS="access_log + rate_limit + router"
  write_config full "$ACCESS_LOG
$RATE_LIMIT
$ROUTER"
fi
SINGLES=()
if ((BREAKDOWN)); then
  write_config only_access_log "$ACCESS_LOG
$ROUTER"
  write_config only_rate_limit "$RATE_LIMIT
$ROUTER"
  SINGLES=(only_access_log only_rate_limit)
  if [[ -z "$NOTE" ]]; then
    write_config only_header_rewrite "$HEADER_REWRITE
$ROUTER"
    SINGLES+=(only_header_rewrite)
  fi
fi
for c in bare full "${SINGLES[@]}"; do
  "$INTERPOSE" --mode validate -c "$TMP/$c.yaml" >"$TMP/validate.out" 2>&1 ||
    die "the $c config does not validate: $(cat "$TMP/validate.out")"
done

start_interpose() {  # CHAIN: sets PROXY_PID once a request goes through
  local log="$TMP/interpose.out" i
  start_bg interpose "$INTERPOSE" -c "$TMP/$1.yaml" --concurrency 1 --log-level warn
  PROXY_PID=$BG_PID
  python3 "$LIB" wait-port "$PROXY_PORT" 30 || { tail -n 20 "$log" >&2; die "interpose did not listen"; }
  python3 "$LIB" fetch "127.0.0.1:$PROXY_PORT" "http://127.0.0.1:$ORIGIN_PORT/1k" 30 >/dev/null ||
    { tail -n 20 "$log" >&2; die "interpose does not forward requests"; }
}

stop_interpose() {
  stop_pid "$PROXY_PID"
  forget_pid "$PROXY_PID"
  local i
  for ((i = 0; i < 50; i++)); do
    python3 "$LIB" wait-port "$PROXY_PORT" 0.05 || break
    sleep 0.1
  done
}

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
BARE_RPS=""
URL="http://127.0.0.1:$ORIGIN_PORT/1k"

run_chain() {  # CHAIN ROUND
  local chain="$1" round="$2" heyout="$TMP/hey_$1_$2.txt" mon="$TMP/mon_$1_$2.json" monpid row rps rc=0
  start_interpose "$chain"
  timeout -k 5 60 hey -n 2000 -c "$CONNS" -t 0 -x "http://127.0.0.1:$PROXY_PORT" "$URL" >/dev/null 2>&1 ||
    warn "$chain: warm-up failed"
  python3 "$LIB" monitor "$PROXY_PID" "$mon" 0.2 &
  monpid=$!
  STARTED+=("$monpid")
  sleep 0.1
  timeout -k 5 $((DUR_S + 60)) hey -z "${DUR_S}s" -c "$CONNS" -t 0 -x "http://127.0.0.1:$PROXY_PORT" "$URL" \
    >"$heyout" 2>&1 || rc=$?
  kill -TERM "$monpid" 2>/dev/null || true
  wait "$monpid" 2>/dev/null || true
  forget_pid "$monpid"
  stop_interpose
  ((rc == 0)) || warn "$chain: hey exited with status $rc"
  # benchlib's row: its "vs direct" column is the ratio to the latest bare run here.
  local versus="${BARE_RPS:--}"
  [[ "$chain" != bare ]] || versus=-
  row="$(python3 "$LIB" row "$chain" 1 "1k#$round" "$CONNS" 1024 "$heyout" "$mon" "$versus")" ||
    die "could not parse hey output: $(head -c 500 "$heyout")"
  rps="${row##*$'\t'}"
  [[ "$chain" == bare ]] && BARE_RPS="$rps"
  printf '%s\n' "${row%$'\t'*}" >>"$RESULTS"
  printf '%s\n' "$row" | awk -F'\t' '{printf "  %-19s %-5s %9s req/s  p50 %6s ms  p99 %6s ms  err %s  cpu %s us/req\n", $1,$3,$5,$6,$7,$9,$11}' >&2
}

log "temp dir $TMP; origin 127.0.0.1:$ORIGIN_PORT, proxy 127.0.0.1:$PROXY_PORT; ${DUR_S}s per run, $ROUNDS round(s)"
start_origin
for ((r = 1; r <= ROUNDS; r++)); do
  run_chain bare "$r"
  run_chain full "$r"
  for c in "${SINGLES[@]}"; do run_chain "$c" "$r"; done
done

# ---------------------------------------------------------------- report
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo))"
echo "- load: hey -z ${DUR_S}s -c $CONNS -t 0 (keep-alive), 1 KiB from nginx (1 worker), plain HTTP on 127.0.0.1"
echo "- interpose: $INTERPOSE --concurrency 1 ($(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git rev'))"
echo "- bare: router; full: $FULL_FILTERS; only_X: X + router; 'vs direct' = ratio to the bare run of the same round"
[[ -z "$NOTE" ]] || echo "- note: $NOTE"
echo
python3 "$LIB" table "$RESULTS"
echo
python3 - "$RESULTS" "$TARGET_PCT" <<'EOF'
import sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
target = float(sys.argv[2])


def mean(chain, col):
    vals = [float(r[col]) for r in rows if r[0] == chain and r[col] not in ("-", "")]
    return sum(vals) / len(vals) if vals else None


bare_rps, full_rps = mean("bare", 4), mean("full", 4)
bare_cpu, full_cpu = mean("bare", 10), mean("full", 10)
print("| chain | req/s (mean) | CPU us/req (mean) |")
print("|---|---:|---:|")
for name in dict.fromkeys(r[0] for r in rows):
    rps, cpu = mean(name, 4), mean(name, 10)
    print("| %s | %.0f | %s |" % (name, rps or 0, "%.1f" % cpu if cpu is not None else "-"))
if bare_rps and full_rps is not None:
    cost = (1 - full_rps / bare_rps) * 100
    extra = ""
    if bare_cpu and full_cpu:
        extra = "; CPU +%.1f us/req (%+.0f%%)" % (full_cpu - bare_cpu, (full_cpu / bare_cpu - 1) * 100)
    print()
    print("full-chain cost: %.1f%% of req/s%s; target <= %.0f%%: %s"
          % (cost, extra, target, "met" if cost <= target else "NOT met"))
EOF
