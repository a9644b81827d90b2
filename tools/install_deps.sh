#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking Interpose needs.
# Idempotent: packages already present are skipped, so a warm machine returns in seconds.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap bazel-platforms g++ pkg-config
  libboost1.81-dev android-libboringssl-dev libnghttp2-dev node-llhttp
  libyaml-cpp-dev libabsl-dev libgtest-dev libgmock-dev libre2-dev
  # tests: real clients and origins; mount for the proxy's private /etc/hosts
  # (`unshare -m` + `mount --bind`; unshare is in util-linux, which is Essential)
  curl nginx-light python3 python3-httpx python3-h2 python3-websockets openssl procps
  nghttp2-client mount
  # `ca install` tests: certutil, a headless Chromium driven by chromedriver, keytool
  libnss3-tools chromium chromium-driver python3-selenium openjdk-17-jre-headless
  # fuzzing (tools/fuzz): clang with libFuzzer and the sanitizers
  clang libclang-rt-14-dev
  # benchmarks: load generator and peer proxies
  hey tinyproxy squid-openssl mitmproxy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The peer proxies start themselves as services on install; benchmarks start their own.
  for svc in tinyproxy squid nginx; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi
echo "install_deps: all ${#packages[@]} packages present"
