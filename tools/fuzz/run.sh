#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it on its corpus.
#   tools/fuzz/run.sh TARGET SECONDS      e.g. tools/fuzz/run.sh http1_request 60
# Targets: http1_request, http1_response (one binary, the first byte picks the type; separate
# corpora), client_hello. The seeds in tools/fuzz/corpus/TARGET are read; what the run finds
# goes to $FUZZ_OUT/corpus-TARGET (default /tmp/interpose-fuzz), so the repository keeps a
# small corpus. A crash stops the run and leaves crash-* in $FUZZ_OUT: keep it as a seed, fix
# the bug.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tools/fuzz/run.sh TARGET SECONDS}
seconds=${2:-20}
out=${FUZZ_OUT:-/tmp/interpose-fuzz}
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -I/usr/share/include/llhttp)
case "$target" in
  http1_request | http1_response)
    binary=$out/http1_parser_fuzz
    # Built every time (20-30 s): a binary from older sources would fuzz the wrong code.
    for c in api http llhttp; do clang -c -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
      -I/usr/share/include/llhttp "/usr/share/llhttp/$c.c" -o "$out/llhttp_$c.o"; done
    clang++ "${flags[@]}" tools/fuzz/http1_parser_fuzz.cc source/http/http1/parser.cc api/interpose/header_map.cc \
      "$out"/llhttp_*.o -o "$binary"
    ;;
  client_hello)
    binary=$out/client_hello_fuzz
    clang++ "${flags[@]}" tools/fuzz/client_hello_fuzz.cc source/network/client_hello.cc -o "$binary"
    ;;
  *) echo "unknown target '$target' (http1_request, http1_response, client_hello)" >&2; exit 2 ;;
esac
seeds=tools/fuzz/corpus/$target
corpus=$out/corpus-$target
mkdir -p "$corpus"
dict=()
[ -f "tools/fuzz/$target.dict" ] && dict=(-dict="tools/fuzz/$target.dict")
exec "$binary" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/" "$corpus" "$seeds"
