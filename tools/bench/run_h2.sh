#!/usr/bin/env bash
# HTTP/2 benchmark: h2load (-c 10 -m 100) against a local nginx TLS origin with http2,
# directly and through Interpose as a transparent TLS listener (tls_intercept with ALPN
# h2 and default_server_name localhost; each h2 stream goes to nginx over HTTP/1.1 on
# Interpose's TLS pool). Cases: 1 KiB and 64 KiB bodies. One sitting, loopback only,
# every step bounded by `timeout`. Prints a markdown table: req/s, the ratio to direct,
# Interpose's CPU us/req (utime+stime from /proc/PID/stat) and its RSS (VmRSS after the
# warm-up, at the end, and VmHWM).
#
#   tools/bench/run_h2.sh [--interpose PATH] [--duration SECS] [--workers N]
#                         [--clients C] [--streams M] [--out FILE] [--keep-tmp]
set -euo pipefail

BENCH_NAME=run_h2.sh
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/lib.sh
. "$SCRIPT_DIR/lib.sh"

INTERPOSE="$DEFAULT_INTERPOSE"
DUR=10
WORKERS=1
CLIENTS=10
STREAMS=100
OUT=""
KEEP_TMP=0

usage() {
  cat <<EOF
Usage: tools/bench/run_h2.sh [options]
  --interpose PATH  Interpose binary (default: bazel-bin/source/exe/interpose; never built here)
  --duration SECS   h2load -D per measured run (default $DUR)
  --workers N       Interpose --concurrency (default $WORKERS; nginx runs 1 worker)
  --clients C       h2load -c (default $CLIENTS)
  --streams M       h2load -m (default $STREAMS)
  --out FILE        also write the table to FILE
  --keep-tmp        keep the temp dir (configs, logs, raw h2load output)
EOF
}

while (($#)); do
  case "$1" in
    --interpose) INTERPOSE="${2:?}"; shift 2 ;;
    --duration) DUR="${2:?}"; DUR="${DUR%s}"; shift 2 ;;
    --workers) WORKERS="${2:?}"; shift 2 ;;
    --clients) CLIENTS="${2:?}"; shift 2 ;;
    --streams) STREAMS="${2:?}"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
positive_ints "$DUR" "$WORKERS" "$CLIENTS" "$STREAMS"
(( DUR <= 300 )) || die "--duration is capped at 300 s"

for t in h2load nginx openssl python3 curl timeout; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' not found (Debian: nghttp2-client, nginx-light, openssl, python3, curl, coreutils)"
done
[[ -x "$INTERPOSE" ]] || die "no Interpose binary at $INTERPOSE (bazel build //:interpose)"
INTERPOSE="$(cd "$(dirname "$INTERPOSE")" && pwd)/$(basename "$INTERPOSE")"
NGINX="$(command -v nginx)"

bench_tmpdir interpose-bench-h2
PROXY_PID=""

# ---------------------------------------------------------------- certificates
ssl() { openssl "$@" >/dev/null 2>&1 || die "openssl $1 failed"; }
cd "$TMP"
ssl ecparam -name prime256v1 -genkey -noout -out origin-ca.key
ssl req -x509 -new -key origin-ca.key -days 30 -subj "/CN=Interpose h2 bench origin CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out origin-ca.pem
ssl ecparam -name prime256v1 -genkey -noout -out origin.key
ssl req -new -key origin.key -subj "/CN=localhost" -out origin.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > origin.ext
ssl x509 -req -in origin.csr -CA origin-ca.pem -CAkey origin-ca.key -CAcreateserial -days 30 \
  -extfile origin.ext -out origin.pem

# ---------------------------------------------------------------- nginx (h2 + http/1.1 by ALPN)
pick_ports
mkdir -p www nginx/tmp
head -c 1024 /dev/urandom > www/1k
head -c 65536 /dev/urandom > www/64k
chmod 755 "$TMP" www && chmod 644 www/*    # nginx's worker runs as an unprivileged user when we are root
cat > nginx/nginx.conf <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  http2_max_requests 100000000;
  http2_max_concurrent_streams 128;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$ORIGIN_PORT ssl http2;
    server_name localhost;
    ssl_certificate $TMP/origin.pem;
    ssl_certificate_key $TMP/origin.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench:10m;
    root $TMP/www;
    default_type application/octet-stream;
  }
}
EOF
# shellcheck disable=SC2094  # -e names the log nginx appends to, nothing reads it here
"$NGINX" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" 2>>"$TMP/nginx/error.log" &
STARTED+=("$!")
python3 "$LIB" wait-port "$ORIGIN_PORT" 10 || die "nginx did not start: $(tail -5 "$TMP/nginx/error.log")"

# ---------------------------------------------------------------- Interpose (transparent TLS)
mkdir -p ca
cat > interpose.yaml <<EOF
drain_timeout: 2s
cert_providers:
  - name: ca
    ca: { cert: $TMP/ca/ca.pem, key: $TMP/ca/ca.key, generate_if_missing: true }
listeners:
  - name: transparent
    address: 127.0.0.1:$PROXY_PORT
    filter_chains:
      - filters:
          - name: tls_intercept
            config: { cert_provider: ca, alpn: [h2, http/1.1], default_server_name: localhost }
          - name: http_connection_manager
            config:
              http_filters:
                - name: router
                  config: { upstream_tls: { ca_file: $TMP/origin-ca.pem } }
EOF
"$INTERPOSE" -c "$TMP/interpose.yaml" --concurrency "$WORKERS" --log-level warn >"$TMP/interpose.log" 2>&1 &
PROXY_PID=$!
STARTED+=("$PROXY_PID")
python3 "$LIB" wait-port "$PROXY_PORT" 10 || die "Interpose did not start: $(tail -5 "$TMP/interpose.log")"

# Both paths answer 200 over HTTP/2, and the proxy's certificate is its own (minted).
check() {  # check NAME CONNECT_PORT CAFILE
  local got
  got="$(timeout 20 curl -sS --noproxy '*' --http2 --cacert "$3" --max-time 10 -o /dev/null \
    -w '%{http_version} %{http_code}' --connect-to "localhost:$ORIGIN_PORT:127.0.0.1:$2" \
    "https://localhost:$ORIGIN_PORT/1k" 2>&1)" || true
  [[ "$got" == "2 200" ]] || die "$1 check: expected '2 200', got '$got'"
}
check direct "$ORIGIN_PORT" "$TMP/origin-ca.pem"
check interpose "$PROXY_PORT" "$TMP/ca/ca.pem"

# ---------------------------------------------------------------- measurement
ticks() { awk '{ print $14 + $15 }' "/proc/$PROXY_PID/stat"; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PROXY_PID/status"; }
CLK_TCK="$(getconf CLK_TCK)"

# h2load FILE URL [extra args]: the measured run (-D), bounded.
run_h2load() {
  local file="$1" url="$2"; shift 2
  timeout $(( DUR + 60 )) h2load -c "$CLIENTS" -m "$STREAMS" -D "$DUR" "$@" "$url" >"$file" 2>&1 \
    || log "h2load exited non-zero for $url (see below)"
}
warmup() {
  local url="$1"; shift
  timeout 60 h2load -c "$CLIENTS" -m "$STREAMS" -n $(( CLIENTS * STREAMS * 5 )) "$@" "$url" >/dev/null 2>&1 || true
}
# parse FILE -> "succeeded failed seconds"
parse() {
  python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"finished in ([\d.]+)(ms|s),", t)
secs = float(m.group(1)) / (1000.0 if m and m.group(2) == "ms" else 1.0) if m else 0.0
r = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", t)
ok, failed, errored = (int(x) for x in r.groups()) if r else (0, 0, 0)
s = re.search(r"status codes: (\d+) 2xx", t)
ok2xx = int(s.group(1)) if s else 0
print(min(ok, ok2xx) if s else ok, failed + errored, secs)
PY
}

ROWS="$TMP/rows.tsv"
: > "$ROWS"
for case in 1k 64k; do
  # direct
  warmup "https://127.0.0.1:$ORIGIN_PORT/$case"
  log "direct $case: h2load -c $CLIENTS -m $STREAMS -D $DUR"
  run_h2load "$TMP/h2load_direct_$case.txt" "https://127.0.0.1:$ORIGIN_PORT/$case"
  read -r d_ok d_fail d_secs < <(parse "$TMP/h2load_direct_$case.txt")
  d_rps="$(python3 -c "print('%.0f' % ($d_ok / $d_secs if $d_secs > 0 else 0))")"
  printf '%s\tdirect\t%s\t1.00\t-\t-\t-\t-\t%s\n' "$case" "$d_rps" "$d_fail" >> "$ROWS"

  # through Interpose
  auth=(-H ":authority: localhost:$ORIGIN_PORT")
  warmup "https://127.0.0.1:$PROXY_PORT/$case" "${auth[@]}"
  rss0="$(status_kb VmRSS)"
  t0="$(ticks)"
  log "interpose $case: h2load -c $CLIENTS -m $STREAMS -D $DUR"
  run_h2load "$TMP/h2load_interpose_$case.txt" "https://127.0.0.1:$PROXY_PORT/$case" "${auth[@]}"
  t1="$(ticks)"
  rss1="$(status_kb VmRSS)"
  hwm="$(status_kb VmHWM)"
  kill -0 "$PROXY_PID" 2>/dev/null || die "Interpose died: $(tail -20 "$TMP/interpose.log")"
  read -r p_ok p_fail p_secs < <(parse "$TMP/h2load_interpose_$case.txt")
  python3 - "$case" "$p_ok" "$p_fail" "$p_secs" "$d_ok" "$d_secs" "$t0" "$t1" "$CLK_TCK" "$rss0" "$rss1" "$hwm" >> "$ROWS" <<'PY'
import sys
case, ok, fail, secs, dok, dsecs, t0, t1, tck, rss0, rss1, hwm = sys.argv[1:]
ok, secs, dok, dsecs = int(ok), float(secs), int(dok), float(dsecs)
rps = ok / secs if secs > 0 else 0.0
drps = dok / dsecs if dsecs > 0 else 0.0
cpu_us = (int(t1) - int(t0)) / float(tck) * 1e6 / ok if ok else float("nan")
print("\t".join([case, "interpose", "%.0f" % rps, "%.2f" % (rps / drps if drps else 0.0),
                 "%.1f" % cpu_us, "%.1f" % (int(rss0) / 1024.0), "%.1f" % (int(rss1) / 1024.0),
                 "%.1f" % (int(hwm) / 1024.0), fail]))
PY
  for f in "$TMP/h2load_direct_$case.txt" "$TMP/h2load_interpose_$case.txt"; do
    grep -E "^(finished|requests|status codes)" "$f" | sed "s|^|  $(basename "$f" .txt): |" >&2 || true
  done
done

# ---------------------------------------------------------------- table
{
  echo "h2load -c $CLIENTS -m $STREAMS -D ${DUR}s; nginx 1 worker (TLS, http2); Interpose --concurrency $WORKERS" \
       "(transparent TLS, ALPN h2 downstream, TLS upstream with ALPN h2 offered: HTTP/2 to this origin); $(nproc) CPUs, all on loopback"
  echo
  echo "| case | target | req/s | vs direct | CPU us/req | RSS after warm-up MiB | RSS at end MiB | peak RSS (VmHWM) MiB | failed |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  while IFS=$'\t' read -r c t r v cpu r0 r1 h f; do
    echo "| $c | $t | $r | $v | $cpu | $r0 | $r1 | $h | $f |"
  done < "$ROWS"
} | tee "${OUT:-/dev/null}"
