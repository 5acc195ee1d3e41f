#!/usr/bin/env bash
# Installs, from Debian 12's own packages, everything kgate needs to build, run and test.
# Idempotent: packages already present are skipped, so it costs nothing on a ready machine.
set -euo pipefail

# libjemalloc-dev: the kgate binary's allocator (ARCHITECTURE.md, "Memory allocator").
build_pkgs=(build-essential cmake pkg-config libboost1.81-dev libssl-dev libnghttp2-dev
            libyaml-cpp-dev prometheus-cpp-dev libsqlite3-dev libmariadb-dev libjemalloc-dev
            libgtest-dev googletest openssl ca-certificates procps)
# Real clients the integration tests drive kgate with; the MariaDB server the MySQL store tests
# run against (a private one per test run, on loopback; the package's own service is not used);
# clang and its runtime (libFuzzer, the sanitizers) for the fuzz targets; testssl.sh, which
# audits the external listener's TLS configuration; slowhttptest, which holds thousands of slow
# connections against it.
test_pkgs=(curl nghttp2-client nghttp2-server mariadb-server clang-14 libclang-rt-14-dev
           testssl.sh slowhttptest)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--with-tests" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them) first" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
