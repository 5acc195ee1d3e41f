#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running node: installs what is missing,
# builds, writes ./run/node.yaml on first use (a master "demo-master": SQLite store, generated keys)
# and starts it on the default ports. Arguments are passed to `kgate start` (e.g. -p 18080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
mkdir -p run
if [ ! -f run/node.yaml ]; then
  ./build/gateway/kgate init --mode "${KGATE_MODE:-master}" --domain "${KGATE_DOMAIN:-demo-master}" \
    > run/node.yaml.tmp
  mv run/node.yaml.tmp run/node.yaml
  echo "wrote run/node.yaml" >&2
fi
exec ./build/gateway/kgate start -c run/node.yaml "$@"
