#!/usr/bin/env bash
# Interpose benchmark harness, intercepting (MITM) mode: hey over HTTPS, on
# loopback, against a local nginx TLS origin directly and through Interpose
# (tls_intercept), mitmproxy (mitmdump) and Squid (ssl-bump). Then, if it has
# been built, the certificate minting micro-benchmark (mint_bench).
# Also reachable as `tools/bench/run.sh --mitm ...`.
# See tools/bench/README.md for how to run it and how to read the table.
set -euo pipefail

BENCH_NAME=run_mitm.sh
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/lib.sh
. "$SCRIPT_DIR/lib.sh"

ALL_TARGETS="direct,interpose,mitmdump,squid"
DEFAULT_MINT_BENCH="$REPO_ROOT/bazel-bin/tools/bench/mint_bench"

INTERPOSE=""
MINT_BENCH="$DEFAULT_MINT_BENCH"
NO_MINT=0
DURATION="10s"
ONLY="$ALL_TARGETS"
CONNS_1K=50
CONNS_1M=10
KEEP_TMP=0
SKIP_MISSING=0
NO_BUILD=0
OUT=""
NCPU="$(nproc)"
MINT_TIMEOUT=180
ROUNDS=1
CASE_LIST="1k,1k-new,1m"
ALL_CASES="1k,1k-new,1m,1k-close"

usage() {
  cat <<EOF
Usage: tools/bench/run_mitm.sh [options]     (same as: tools/bench/run.sh --mitm [options])

  --interpose PATH   Interpose binary (default: bazel-bin/source/exe/interpose;
                     built with 'bazel build -c opt //source/exe:interpose' if missing)
  --no-build         never run bazel; fail/skip if the binary is missing
  --duration D       hey -z duration per case (default 10s; e.g. 5s, 1m)
  --quick            3s per case
  --only LIST        comma list of targets among: $ALL_TARGETS
                     (direct is always run: it is the baseline for "vs direct")
  --conns-1k N       hey -c for the two 1 KiB cases (default $CONNS_1K)
  --conns-1m N       hey -c for the 1 MiB case (default $CONNS_1M)
  --cases LIST       comma list of cases among: $ALL_CASES (default $CASE_LIST);
                     1k-close: keep-alive to the proxy, but the origin closes after every
                     response, so each request opens a new upstream TLS connection
  --cores N          the "all cores" worker count (default: nproc = $NCPU)
  --rounds N         run every target and case N times, round after round, and report
                     medians (CPU also as its range): one sitting drifts by 15% or more on
                     shared machines, so compare figures from several rounds (default 1)
  --skip-missing     skip (with a warning) targets whose tool is missing
                     instead of failing
  --mint-bench PATH  minting benchmark binary (default: bazel-bin/tools/bench/mint_bench;
                     never built by this script: 'bazel build -c opt //tools/bench:mint_bench')
  --no-mint          do not run the minting benchmark
  --out FILE         also write the final markdown (header, table, mint lines) to FILE
  --keep-tmp         keep the temp dir (certs, configs, logs, raw hey output)
  -h, --help         this text
EOF
}

while (($#)); do
  case "$1" in
    --mitm) shift ;;  # forwarded by run.sh; harmless here
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
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --cases) CASE_LIST="${2:?--cases needs a list}"; shift 2 ;;
    --cases=*) CASE_LIST="${1#*=}"; shift ;;
    --skip-missing) SKIP_MISSING=1; shift ;;
    --mint-bench) MINT_BENCH="${2:?--mint-bench needs a path}"; shift 2 ;;
    --mint-bench=*) MINT_BENCH="${1#*=}"; shift ;;
    --no-mint) NO_MINT=1; shift ;;
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
positive_ints "$CONNS_1K" "$CONNS_1M" "$NCPU" "$ROUNDS"
[[ -z "$OUT" ]] || OUT="$(abs_out "$OUT")"
[[ "$MINT_BENCH" == /* ]] || MINT_BENCH="$PWD/$MINT_BENCH"
select_targets "$ONLY" "$ALL_TARGETS" mitmproxy=mitmdump
IFS=, read -r -a CASES <<<"$CASE_LIST"
for c in "${CASES[@]}"; do [[ ",$ALL_CASES," == *",$c,"* ]] || die "unknown case '$c' (expected some of $ALL_CASES)"; done

# ---------------------------------------------------------------- tools
need python3 "install python3"
need hey "Debian package 'hey'"
need timeout "coreutils"
need pgrep "Debian package 'procps'"
need openssl "Debian package 'openssl'"
need_nginx

MITMDUMP="$(command -v mitmdump 2>/dev/null || echo /usr/bin/mitmdump)"
SQUID=/usr/sbin/squid
CERTGEN=/usr/lib/squid/security_file_certgen
if has_target mitmdump && [[ ! -x "$MITMDUMP" ]]; then
  missing_target mitmdump "mitmdump not found (Debian package 'mitmproxy')"
fi
if has_target squid && { [[ ! -x "$SQUID" ]] || [[ ! -x "$CERTGEN" ]]; }; then
  missing_target squid "$SQUID or $CERTGEN not found (Debian package 'squid-openssl')"
fi
if has_target squid && ! "$SQUID" -v 2>/dev/null | grep -q -- '--with-openssl'; then
  missing_target squid "$SQUID was built without OpenSSL, so it cannot ssl-bump (install 'squid-openssl', not 'squid')"
fi
if has_target interpose; then
  resolve_interpose warn
  if [[ ! -x "$INTERPOSE" ]]; then
    missing_target interpose "Interpose binary not found or not executable: $INTERPOSE"
  fi
fi

# ---------------------------------------------------------------- temp dir & cleanup
bench_tmpdir interpose-bench-mitm
trap_err
SQUID_NAME="ibmitm$$"
on_cleanup() { rm -f /dev/shm/"$SQUID_NAME"-* /run/squid/"$SQUID_NAME"-* 2>/dev/null || true; }
pick_ports
ORIGIN_HOST=localhost   # the CONNECT host; /etc/hosts must map it to 127.0.0.1
ORIGIN_URL_BASE="https://$ORIGIN_HOST:$ORIGIN_PORT"

# ---------------------------------------------------------------- certificates
# All made with the openssl CLI, valid for 30 days, thrown away with $TMP.
#   origin-ca.{pem,key}  test CA that signs the origin's certificate; the
#                        proxies trust it for their upstream connections
#   origin.{pem,key}     nginx: ECDSA P-256, SAN DNS:localhost, IP:127.0.0.1
#   squid-ca.{pem,key}   the CA Squid mints with (ECDSA P-256)
#   ca/ca.{pem,key}      Interpose's CA: Interpose generates it itself
#                        (generate_if_missing) on its first start
#   mitm/                mitmproxy's confdir: mitmdump generates its CA there
make_ca() {  # make_ca BASENAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
    -keyout "$TMP/$1.key" -out "$TMP/$1.pem" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>>"$TMP/openssl.log" ||
    die "openssl could not make $1 (see $TMP/openssl.log)"
}

make_certs() {
  make_ca origin-ca "Interpose bench origin CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout "$TMP/origin.key" -out "$TMP/origin.csr" -subj "/CN=localhost" 2>>"$TMP/openssl.log" ||
    die "openssl could not make the origin key/CSR"
  cat >"$TMP/origin.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EOF
  openssl x509 -req -in "$TMP/origin.csr" -CA "$TMP/origin-ca.pem" -CAkey "$TMP/origin-ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$TMP/origin.ext" -out "$TMP/origin.pem" 2>>"$TMP/openssl.log" ||
    die "openssl could not sign the origin certificate (see $TMP/openssl.log)"
  openssl verify -CAfile "$TMP/origin-ca.pem" "$TMP/origin.pem" >/dev/null ||
    die "the origin certificate does not verify against origin-ca.pem"
  make_ca squid-ca "Interpose bench Squid CA"
  chmod 644 "$TMP"/*.pem
  # nginx's master reads origin.key as root; Squid reads squid-ca.key as root
  # and again in its kids (user 'proxy').
  chmod 600 "$TMP"/*.key
  chown proxy:proxy "$TMP/squid-ca.key" 2>/dev/null || chmod 644 "$TMP/squid-ca.key"
  mkdir -p "$TMP/ca"
}

# ---------------------------------------------------------------- origin: nginx (TLS)
start_origin() {
  start_nginx_origin " ssl" $'  sendfile on;\n  tcp_nopush on;\n' "    server_name localhost;
    ssl_certificate $TMP/origin.pem;
    ssl_certificate_key $TMP/origin.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench:10m;
    location = /1k-close { keepalive_timeout 0; }
" 1k 1m
  cp "$TMP/nginx/www/1k" "$TMP/nginx/www/1k-close"
  check_origin "$ORIGIN_URL_BASE" "$TMP/origin-ca.pem" " over TLS"
}

# ---------------------------------------------------------------- proxies
# Each start_* sets PROXY_PID (root of the process tree that is measured)
# and returns once an HTTPS request through the proxy succeeds, with the
# certificate that the client sees verified against the proxy's own CA: that
# shows the proxy really intercepts (a blind tunnel would show the origin's
# certificate, which does not chain to the proxy CA).

proxy_ready() {  # NAME LOGFILE PROXY_CA_FILE
  wait_proxy_ready "$1" "$2" "$ORIGIN_URL_BASE/1k" "$3" "does not intercept HTTPS requests"
}

start_interpose() {  # WORKERS
  local cfg="$TMP/interpose.yaml"
  cat >"$cfg" <<EOF
cert_providers:
  - name: ca
    ca: { cert: $TMP/ca/ca.pem, key: $TMP/ca/ca.key, generate_if_missing: true }
listeners:
  - name: proxy
    address: 127.0.0.1:$PROXY_PORT
    filter_chains:
      - match: { tunneled: true }
        filters:
          - { name: tls_intercept, config: { cert_provider: ca } }
          - name: http_connection_manager
            config:
              http_filters:
                - name: router
                  config: { upstream_tls: { ca_file: $TMP/origin-ca.pem } }
      - filters: [ { name: http_connection_manager } ]
EOF
  start_interpose_with "$cfg" --concurrency "$1"
  proxy_ready interpose "$TMP/interpose.out" "$TMP/ca/ca.pem"
}

start_mitmdump() {
  local d="$TMP/mitm"
  mkdir -p "$d"
  # mitmproxy is one Python process (asyncio, one thread does the proxying);
  # it has no worker knob. -q: no per-flow output. lazy: connect upstream only
  # when the first request needs it. The confdir keeps its CA across cases.
  start_bg mitmdump "$MITMDUMP" -q --listen-host 127.0.0.1 -p "$PROXY_PORT" \
    --set confdir="$d" \
    --set ssl_verify_upstream_trusted_ca="$TMP/origin-ca.pem" \
    --set connection_strategy=lazy
  PROXY_PID=$BG_PID
  proxy_ready mitmdump "$TMP/mitmdump.out" "$d/mitmproxy-ca-cert.pem"
}

start_squid() {  # WORKERS
  local d="$TMP/squid" workers="$1" hard fds i n
  rm -rf "$d"; mkdir -p "$d"
  # the certificate database must be created fresh, then belong to 'proxy'
  "$CERTGEN" -c -s "$d/ssl_db" -M 16MB >"$TMP/certgen-init.out" 2>&1 ||
    { cat "$TMP/certgen-init.out" >&2; die "security_file_certgen -c failed"; }
  chown -R proxy:proxy "$d" 2>/dev/null || chmod -R a+rwX "$d"
  hard="$(ulimit -Hn)"
  fds=65536; [[ "$hard" == unlimited || "$hard" -ge 65536 ]] || fds="$hard"
  cat >"$d/squid.conf" <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=$TMP/squid-ca.pem tls-key=$TMP/squid-ca.key
sslcrtd_program $CERTGEN -s $d/ssl_db -M 16MB
sslcrtd_children 8 startup=1 idle=1
ssl_bump bump all
tls_outgoing_options cafile=$TMP/origin-ca.pem
acl bench_src src 127.0.0.1/32
http_access allow bench_src
http_access deny all
workers $workers
# no disk cache (no cache_dir), no memory cache
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
  start_bg squid "$SQUID" --foreground -n "$SQUID_NAME" -f "$d/squid.conf"
  PROXY_PID=$BG_PID
  for ((i = 0; i < 300; i++)); do
    n="$(grep -c "Accepting .*HTTP Socket" "$d/cache.log" 2>/dev/null || true)"
    ((${n:-0} >= workers)) && break
    alive_or_die "$PROXY_PID" squid "$d/cache.log"
    sleep 0.1
  done
  proxy_ready squid "$d/cache.log" "$TMP/squid-ca.pem"
}

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
declare -A DIRECT_RPS=()
WARMUP_S=1

# cases: 1k (keep-alive), 1k-new (a new client connection, CONNECT and TLS
# handshake for every request), 1m (keep-alive), 1k-close (keep-alive from the
# client; the origin closes after each response: a new upstream connection each time)
case_conns() { [[ "$1" == 1m ]] && echo "$CONNS_1M" || echo "$CONNS_1K"; }
case_size() { [[ "$1" == 1m ]] && echo 1048576 || echo 1024; }
case_path() { case "$1" in 1m) echo /1m ;; 1k-close) echo /1k-close ;; *) echo /1k ;; esac; }
case_flags() { if [[ "$1" == 1k-new ]]; then echo -disable-keepalive; fi; }

run_case() {  # TARGET WORKERS CASE MEASURE_PID|-
  local target="$1" workers="$2" c="$3" mpid="$4"
  local conns size url tag heyout mon px=() flags=()
  conns="$(case_conns "$c")"; size="$(case_size "$c")"
  url="$ORIGIN_URL_BASE$(case_path "$c")"
  read -r -a flags <<<"$(case_flags "$c")"
  [[ "$mpid" == - ]] || px=(-x "http://127.0.0.1:$PROXY_PORT")
  tag="${target}_w${workers}_${c}"; ((ROUNDS == 1)) || tag+="_r$round"; tag="${tag//[^A-Za-z0-9_.-]/_}"
  heyout="$TMP/hey_$tag.txt"; mon="$TMP/mon_$tag.json"

  # short warm-up (bounded by -z and by timeout), not measured; it also lets
  # each proxy mint and cache the certificate for "localhost"
  timeout -k 5 30 hey -z "${WARMUP_S}s" -c "$conns" -t 0 "${flags[@]}" "${px[@]}" "$url" >/dev/null 2>&1 ||
    warn "$target $c: warm-up failed"

  hey_measured "$target $c" "$heyout" "$mon" "$mpid" -c "$conns" -t 0 "${flags[@]}" "${px[@]}" "$url"
  hey_row "$target" "$workers" "$c" "$conns" "$size" "$heyout" \
    "$([[ "$mpid" != - ]] && echo "$mon" || echo -)" "${DIRECT_RPS[$c]:--}"
  [[ "$target" == direct* ]] && DIRECT_RPS[$c]="$ROW_RPS"
  printf '%s\n' "$ROW" >>"$RESULTS"
  printf '%s\n' "$ROW" | awk -F'\t' '{printf "  %-10s w=%-3s %-6s c=%-3s %9s req/s  p50 %6s ms  p99 %6s ms  %8s MB/s  err %s  rss %s MiB  cpu %s us/req  x%s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}' >&2
}

# ---------------------------------------------------------------- minting benchmark
MINT_REPORT="$TMP/mint.md"
run_mint_bench() {
  {
    echo "### Certificate minting (mint_bench)"
    echo
    if ((NO_MINT)); then
      echo "skipped (--no-mint)"
    elif [[ ! -x "$MINT_BENCH" ]]; then
      echo "skipped: $MINT_BENCH not found (build it with \`bazel build -c opt //tools/bench:mint_bench\`)"
    else
      local rc=0
      log "mint_bench: $MINT_BENCH"
      timeout -k 5 "$MINT_TIMEOUT" "$MINT_BENCH" >"$TMP/mint.out" 2>"$TMP/mint.err" || rc=$?
      echo '```'
      cat "$TMP/mint.out"
      echo '```'
      if ((rc != 0)); then
        echo
        echo "mint_bench exited with status $rc$( ((rc == 124)) && echo " (stopped after ${MINT_TIMEOUT} s)")"
        echo
        tail -n 5 "$TMP/mint.err" | sed 's/^/    /'
      fi
    fi
  } >"$MINT_REPORT"
}

# ---------------------------------------------------------------- environment header
env_header() {
  local cpu kern
  cpu="$(cpu_model)"
  kern="$(uname -r)"
  echo "- mode: HTTPS interception (MITM); all on 127.0.0.1"
  ((ROUNDS == 1)) || echo "- $ROUNDS rounds (every target and case once per round); each figure is the median of the rounds, CPU us/req also shows the range"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: ${NCPU} cores for workers, $(nproc) online ($cpu), Linux $kern"
  echo "- load: hey $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?'), -z ${DUR_S}s -t 0, https://localhost:PORT/...; 1k: -c $CONNS_1K keep-alive; 1k-new: -c $CONNS_1K -disable-keepalive (CONNECT + TLS handshake per request); 1m: -c $CONNS_1M keep-alive; 1k-close: as 1k, but the origin closes after each response"
  echo "- origin: nginx $($NGINX -v 2>&1 | sed 's|.*nginx/||'), TLS 1.2/1.3 with an ECDSA P-256 certificate, worker_processes 1, access_log off"
  has_target interpose && echo "- interpose: $INTERPOSE ($(git_rev)), tls_intercept + router with upstream_tls"
  has_target mitmdump && echo "- mitmdump: mitmproxy $("$MITMDUMP" --version 2>/dev/null | awk '/^Mitmproxy:/{print $2; exit}') (one Python process; no worker knob), upstream verified against the origin CA"
  has_target squid && echo "- squid: $("$SQUID" -v 2>/dev/null | awk '/Version/{print $NF; exit}') ssl-bump (bump all, ECDSA P-256 CA, security_file_certgen; no cache; workers N = SMP kids + coordinator + master + certgen helpers)"
  true
}

# ---------------------------------------------------------------- main
WORKER_SET=(1)
((NCPU > 1)) && WORKER_SET+=("$NCPU")

log "temp dir $TMP; origin $ORIGIN_URL_BASE, proxies on 127.0.0.1:$PROXY_PORT"
log "targets: ${TARGETS[*]}; ${DUR_S}s per case"
make_certs
start_origin

for ((round = 1; round <= ROUNDS; round++)); do
  ((ROUNDS == 1)) || log "round $round of $ROUNDS"
  DIRECT_RPS=()  # "vs direct" compares with this round's direct run
  for target in "${TARGETS[@]}"; do
    case "$target" in
      direct)
        log "direct -> nginx (TLS)"
        for c in "${CASES[@]}"; do run_case direct - "$c" -; done
        ;;
      interpose) run_cases_per_worker_count interpose "interpose --concurrency %s (tls_intercept)" ;;
      mitmdump) run_cases_one_process mitmdump 1 "mitmdump (one process)" ;;
      squid) run_cases_per_worker_count squid "squid workers %s (ssl-bump)" ;;
    esac
  done
done

run_mint_bench

REPORT="$TMP/report.md"
{
  env_header
  echo
  python3 "$LIB" table "$RESULTS"
  echo
  cat "$MINT_REPORT"
} >"$REPORT"
echo
cat "$REPORT"
if [[ -n "$OUT" ]]; then
  cp "$REPORT" "$OUT"
  log "wrote $OUT"
fi
