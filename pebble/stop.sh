#!/usr/bin/env bash
# Stops the servers that start.sh recorded in DIR/env: SIGTERM, then SIGKILL after 5 s.
# Removes DIR only with --clean. Safe to run twice.
set -euo pipefail

usage() { echo "usage: stop.sh --dir DIR [--clean]"; }
die() {
  echo "pebble/stop.sh: $*" >&2
  exit 1
}

dir=""
clean=0
while (($#)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --clean) clean=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "$dir" ]] || { usage >&2; die "--dir is required"; }
[[ -d "$dir" ]] || die "no such directory '$dir'"

# Read the pids without sourcing: the file is KEY=VALUE and we want only three keys.
value_of() { sed -n "s/^$1=//p" "$dir/env" 2>/dev/null | tail -n 1; }

# Only signal a pid that still runs the program we started: after a crash the number may have been
# reused by an unrelated process.
runs() {
  local pid="$1" want="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$want"
}

# A killed server whose parent (start.sh) is gone is reaped by init; until then it is a zombie,
# which kill -0 still reports, so look at the process state instead.
running() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

pids=()
if [[ -f "$dir/env" ]]; then
  watchdog="$(value_of WATCHDOG_PID)"
  # The watchdog goes first so it cannot fire once we are done (and hit a reused pid).
  if runs "$watchdog" certpilot-pebble-watchdog; then
    kill -KILL "$watchdog" 2>/dev/null || true
  fi
  p="$(value_of PEBBLE_PID)"
  runs "$p" pebble && pids+=("$p")
  c="$(value_of CHALLTESTSRV_PID)"
  runs "$c" pebble-challtestsrv && pids+=("$c")
fi

if ((${#pids[@]})); then
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    remaining=()
    for pid in "${pids[@]}"; do
      running "$pid" && remaining+=("$pid")
    done
    ((${#remaining[@]})) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then
      echo "pebble/stop.sh: pid $pid ignored SIGTERM for 5s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
fi

if ((clean)); then
  rm -rf -- "$dir"
fi
