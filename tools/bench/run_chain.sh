#!/usr/bin/env bash
# What a realistic HTTP filter chain costs: the same hey load (1 KiB, keep-alive, plain
# HTTP) through Interpose with --concurrency 1, once with the bare router chain and once
# with access_log (to a file) + header_rewrite + rate_limit (never trips) + router, in one
# sitting and alternating, so both see the same machine. Prints req/s, CPU us/req and the
# full chain's cost in % of the bare chain's req/s (target: at most 15%).
# Uses tools/bench/benchlib.py (ports, readiness, CPU sampling, hey parsing, the table).
set -euo pipefail

BENCH_NAME=run_chain.sh
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/lib.sh
. "$SCRIPT_DIR/lib.sh"

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

parse_duration "$DURATION"
positive_ints "$DUR_S" "$CONNS" "$ROUNDS"

for cmd in python3 hey timeout; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found"
done
need_nginx

resolve_interpose die
[[ -x "$INTERPOSE" ]] || die "Interpose binary not found or not executable: $INTERPOSE"

# ---------------------------------------------------------------- temp dir & cleanup
bench_tmpdir interpose-chain
pick_ports

# ---------------------------------------------------------------- origin: nginx (as run.sh)
start_origin() {
  start_nginx_origin "" "" "" 1k
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
  start_bg interpose "$INTERPOSE" -c "$TMP/$1.yaml" --concurrency 1 --log-level warn
  PROXY_PID=$BG_PID
  wait_proxy_ready interpose "$TMP/interpose.out" "http://127.0.0.1:$ORIGIN_PORT/1k" - "does not forward requests"
}

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
BARE_RPS=""
URL="http://127.0.0.1:$ORIGIN_PORT/1k"

run_chain() {  # CHAIN ROUND
  local chain="$1" round="$2" heyout="$TMP/hey_$1_$2.txt" mon="$TMP/mon_$1_$2.json"
  start_interpose "$chain"
  timeout -k 5 60 hey -n 2000 -c "$CONNS" -t 0 -x "http://127.0.0.1:$PROXY_PORT" "$URL" >/dev/null 2>&1 ||
    warn "$chain: warm-up failed"
  hey_measured "$chain" "$heyout" "$mon" "$PROXY_PID" -c "$CONNS" -t 0 -x "http://127.0.0.1:$PROXY_PORT" "$URL"
  stop_proxy
  # benchlib's row: its "vs direct" column is the ratio to the latest bare run here.
  local versus="${BARE_RPS:--}"
  [[ "$chain" != bare ]] || versus=-
  hey_row "$chain" 1 "1k#$round" "$CONNS" 1024 "$heyout" "$mon" "$versus"
  [[ "$chain" == bare ]] && BARE_RPS="$ROW_RPS"
  printf '%s\n' "$ROW" >>"$RESULTS"
  printf '%s\t%s\n' "$ROW" "$ROW_RPS" | awk -F'\t' '{printf "  %-19s %-5s %9s req/s  p50 %6s ms  p99 %6s ms  err %s  cpu %s us/req\n", $1,$3,$5,$6,$7,$9,$11}' >&2
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
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(cpu_model))"
echo "- load: hey -z ${DUR_S}s -c $CONNS -t 0 (keep-alive), 1 KiB from nginx (1 worker), plain HTTP on 127.0.0.1"
echo "- interpose: $INTERPOSE --concurrency 1 ($(git_rev))"
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
