#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine: installs what the tests need (Pebble, BIND9,
# PowerDNS, ...), builds, runs the unit tests, the integration tests (real Pebble and DNS servers on
# loopback, started by the tests themselves), then the unit tests again under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
jobs=$(nproc)

echo "== build"
scripts/build.sh
echo "== unit tests"
ctest --test-dir build -L unit -j"$jobs" --output-on-failure
echo "== integration tests"
# Each integration binary starts its own Pebble / DNS servers on free loopback ports.
ctest --test-dir build -L integration -j"$jobs" --output-on-failure
echo "== layering check"
scripts/check_layering.sh
if [ "${CERTPILOT_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCERTPILOT_SANITIZE=ON >/dev/null
  # Only the unit tests run here: build just them (half the work of a whole second build).
  cmake --build build-asan -j"$jobs" --target $(cd tests/unit && ls -d */ | tr -d / | sed 's/^/unit_/')
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit -j"$jobs" --output-on-failure
fi
