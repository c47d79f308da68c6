#!/usr/bin/env bash
# Installs everything certpilot builds, tests and benchmarks with, from Debian 12 packages only.
# Usage: scripts/install-deps.sh [--test] [--bench]
#   (no flag)  build dependencies plus Pebble (the README's demo needs it)
#   --test     also the real DNS servers the integration tests start (BIND9, PowerDNS)
#   --bench    also the peers the benchmarks compare against (lego, certbot, nginx, load tools)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libc-ares-dev libexpected-dev
  libtomlplusplus-dev libcli11-dev catch2 libsystemd-dev
  pebble iproute2 util-linux procps
)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(bind9 bind9-utils bind9-dnsutils pdns-server pdns-backend-sqlite3 sqlite3 systemd) ;;
    --bench) packages+=(lego certbot python3-certbot-dns-rfc2136 nginx wrk nghttp2-client hyperfine time) ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --test and/or --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Daemons from these packages (bind9, pdns, nginx) must not start system-wide: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
