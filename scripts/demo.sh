#!/usr/bin/env bash
# The main job on an embedded default, on a fresh Debian 12 machine: installs what is needed,
# builds, starts Pebble (Let's Encrypt's test CA) and its challenge DNS server on loopback, gets a
# certificate for demo.example.test and *.demo.example.test through a real DNS-01 challenge, serves
# it with certpilot's own TLS listener, and fetches the page once over HTTPS trusting only Pebble's
# root. Everything it starts is stopped again; nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
bin=$PWD/build/src/cli/certpilot

work=$(mktemp -d /tmp/certpilot-demo-XXXXXX)
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  bash pebble/stop.sh --dir "$work/pebble" --clean >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting Pebble and pebble-challtestsrv on loopback"
bash pebble/start.sh --dir "$work/pebble" >/dev/null
# shellcheck disable=SC1091
source "$work/pebble/env"

echo "== certpilot issue (DNS-01 through the challenge server)"
"$bin" issue -d demo.example.test -d '*.demo.example.test' \
  --directory "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --agree-tos --email ops@example.test \
  --dns challtestsrv --dns-opt "url=$CHALLTESTSRV_URL" \
  --out "$work/certs/demo.example.test" --state "$work/state"

echo "== certpilot serve (the embedded TLS listener)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --certs "$work/certs/demo.example.test" --listen "127.0.0.1:$port" --threads 1 &
serve_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

echo "== fetching https://www.demo.example.test:$port/ over TLS, trusting only Pebble's root"
curl -s --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MANAGEMENT/roots/0" > "$work/pebble-root.pem"
curl -sS --fail --cacert "$work/pebble-root.pem" \
  --resolve "www.demo.example.test:$port:127.0.0.1" "https://www.demo.example.test:$port/"
echo
echo "== done: the certificate verified against Pebble's root and was served by certpilot"
