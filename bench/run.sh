#!/usr/bin/env bash
# One command for the benchmark: installs what it needs (Debian packages), builds kgate and the
# bench helpers, raises the descriptor limit for the idle-connection run, and runs bench/run.py
# (arguments are passed on, e.g. --seconds 10 --reps 5).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --with-tests
missing=()
for p in nginx haproxy wrk nghttp2-client python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian packages start system-wide services; the bench runs its own instances.
  systemctl disable --now nginx haproxy >/dev/null 2>&1 || true
fi
export KGATE_BUILD_DIR=${KGATE_BUILD_DIR:-build-bench}
KGATE_BUILD_TYPE=Release ./scripts/build.sh
ulimit -n "$(ulimit -Hn)"  # the idle-connection run holds 10,000 sockets per side
exec python3 bench/run.py "$@"
