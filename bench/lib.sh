# shellcheck shell=bash disable=SC2034
# Shared helpers for the bench/*.sh scripts. Source it:  . "$(dirname "$0")/lib.sh"
#
#   bench_measure SAMPLES LOG LABEL -- CMD...   run CMD once, append one sample line to SAMPLES
#   bench_stats SAMPLES LABEL COLUMN            "median mean min max n" of COLUMN over LABEL's lines
#   bench_median / bench_mean / bench_min / bench_max   of the numbers on stdin (one per line)
#   bench_ratio A B                             A/B with 3 decimals ("n/a" if B is 0 or empty)
#   bench_verdict RATIO LIMIT                   "ok" if RATIO <= LIMIT else "MISSED"
#   bench_machine                               one line: date, host, CPU, cores, kernel
#   bench_require_loopback_only                 fail unless the only network interface is lo
#
# Measuring. One sample is one process (tree) run to completion:
#   - wall, user and sys come from bash's `time` keyword with TIMEFORMAT='%3R %3U %3S':
#     millisecond resolution, and user/sys cover every descendant that was waited for (lego's exec
#     hook processes count towards lego).
#   - peak RSS comes from `/usr/bin/time -f %M` (ru_maxrss of the command's tree: the largest single
#     process, in KiB). Its own %e %U %S are recorded too, but GNU time truncates them to 10 ms,
#     which is too coarse for processes that use 10-50 ms of CPU.
#   - the command runs under `timeout` (BENCH_TIMEOUT seconds, default 300) so no sample can hang.
#   The fixed cost of the `timeout` + `/usr/bin/time` wrappers is in every sample; measure it with
#   `bench_measure ... floor -- true` and report it next to the results.
#
# Sample line (tab-separated):
#   label  rc  wall_s  user_s  sys_s  cpu_s(=user+sys)  maxrss_kib  gnu_e  gnu_u  gnu_s

BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}

# Column numbers in a sample line, for bench_stats.
BENCH_COL_RC=2
BENCH_COL_WALL=3
BENCH_COL_USER=4
BENCH_COL_SYS=5
BENCH_COL_CPU=6
BENCH_COL_RSS=7

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

bench_measure() {
  local samples=$1 log=$2 label=$3
  shift 3
  [[ "${1:-}" == "--" ]] && shift
  (($#)) || bench_die "bench_measure: no command"
  local tmp rc=0 timing gnu
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-measure-XXXXXX")
  local TIMEFORMAT='%3R %3U %3S'
  {
    time timeout --kill-after=10 "$BENCH_TIMEOUT" \
      /usr/bin/time -o "$tmp/gnu" -f '%e %U %S %M' "$@" >>"$log" 2>&1
  } 2>"$tmp/bash" || rc=$?
  timing=$(tail -n 1 "$tmp/bash")
  # GNU time writes "Command exited with non-zero status N" before the format line on failure.
  gnu=$(tail -n 1 "$tmp/gnu" 2>/dev/null || true)
  rm -rf "$tmp"
  local wall user sys e u s rss
  read -r wall user sys <<<"$timing"
  read -r e u s rss <<<"$gnu"
  [[ "$wall" =~ ^[0-9.]+$ ]] || wall=nan
  [[ "$user" =~ ^[0-9.]+$ ]] || user=nan
  [[ "$sys" =~ ^[0-9.]+$ ]] || sys=nan
  [[ "${rss:-}" =~ ^[0-9]+$ ]] || rss=nan
  local cpu
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { if (u == "nan" || s == "nan") print "nan"; else printf "%.3f", u + s }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$label" "$rc" "$wall" "$user" "$sys" "$cpu" "$rss" "${e:-nan}" "${u:-nan}" "${s:-nan}" >>"$samples"
  return "$rc"
}

# Numbers on stdin, one per line; non-numeric lines are ignored.
bench_median() {
  grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bench_mean() { grep -E '^[0-9.]+$' | awk '{ t += $1 } END { if (NR) printf "%.3f\n", t / NR; else print "nan" }'; }
bench_min() { grep -E '^[0-9.]+$' | sort -g | head -n 1 | awk '{ printf "%.3f\n", $1 } END { if (!NR) print "nan" }'; }
bench_max() { grep -E '^[0-9.]+$' | sort -g | tail -n 1 | awk '{ printf "%.3f\n", $1 } END { if (!NR) print "nan" }'; }
bench_sum() { grep -E '^[0-9.]+$' | awk '{ t += $1 } END { printf "%.3f\n", t }'; }

# Values of COLUMN for the successful (rc 0) samples labelled LABEL.
bench_column() {
  local samples=$1 label=$2 col=$3
  awk -F '\t' -v l="$label" -v c="$col" '$1 == l && $2 == 0 { print $c }' "$samples"
}

bench_stats() {
  local samples=$1 label=$2 col=$3 values
  values=$(bench_column "$samples" "$label" "$col")
  printf '%s %s %s %s %s\n' \
    "$(bench_median <<<"$values")" "$(bench_mean <<<"$values")" \
    "$(bench_min <<<"$values")" "$(bench_max <<<"$values")" \
    "$(grep -cE '^[0-9.]+$' <<<"$values" || true)"
}

bench_count() {
  local samples=$1 label=$2
  awk -F '\t' -v l="$label" '$1 == l { n++ } END { print n + 0 }' "$samples"
}
bench_failures() {
  local samples=$1 label=$2
  awk -F '\t' -v l="$label" '$1 == l && $2 != 0 { n++ } END { print n + 0 }' "$samples"
}

bench_ratio() {
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
    printf "%.3f\n", a / b }'
}

bench_verdict() {
  awk -v r="${1:-}" -v l="$2" 'BEGIN { if (r !~ /^[0-9.]+$/) print "n/a"; else if (r + 0 <= l + 0) print "ok"; else print "MISSED" }'
}

bench_kib_to_mib() { awk -v k="${1:-}" 'BEGIN { if (k !~ /^[0-9.]+$/) print "nan"; else printf "%.1f\n", k / 1024 }'; }

bench_machine() {
  local cpu
  cpu=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
  printf '%s, host %s, %s, %s cores, %s MiB RAM, Linux %s, load %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(hostname)" "${cpu:-unknown CPU}" "$(nproc)" \
    "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)" "$(uname -r)" "$(cut -d " " -f 1-3 /proc/loadavg)"
}

bench_require_loopback_only() {
  local ifaces
  ifaces=$(ip -o link show | awk -F ': ' '{ print $2 }' | sed 's/@.*//' | sort | tr '\n' ' ')
  [[ "$ifaces" == "lo " ]] || bench_die "network interfaces other than lo are present ($ifaces); run inside unshare --net"
  ip -o link show lo | grep -q 'UP' || bench_die "lo is down (ip link set lo up)"
}

# --- long-running processes (bench/daemon.sh) ----------------------------------------------------
#   bench_now                         wall clock in seconds with ns decimals
#   bench_proc_cpu_ticks PID          utime+stime of PID (all its threads; not its children), ticks
#   bench_proc_status_kib PID FIELD   a /proc/PID/status field in KiB (VmRSS, VmHWM, ...)
#   bench_wait_until TIMEOUT_S INTERVAL_S CMD...   poll CMD until it succeeds; 1 on timeout
bench_now() { date +%s.%N; }

bench_proc_cpu_ticks() {
  local f
  f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo nan; return 1; }
  # After "pid (comm) ", field 1 is state: utime and stime are fields 12 and 13.
  awk '{ print $12 + $13 }' <<<"$f"
}

# utime+stime of PID and of its children it has waited for (cutime+cstime), ticks: a daemon whose
# work runs in short-lived child processes.
bench_proc_tree_cpu_ticks() {
  local f
  f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo nan; return 1; }
  awk '{ print $12 + $13 + $14 + $15 }' <<<"$f"
}

bench_proc_status_kib() {
  awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print "nan" }' "/proc/$1/status" 2>/dev/null ||
    echo nan
}

bench_wait_until() {
  local timeout=$1 interval=$2 deadline
  shift 2
  deadline=$(awk -v n="$(bench_now)" -v t="$timeout" 'BEGIN { printf "%.3f", n + t }')
  until "$@"; do
    if awk -v n="$(bench_now)" -v d="$deadline" 'BEGIN { exit !(n >= d) }'; then return 1; fi
    sleep "$interval"
  done
}

# The newest certpilot binary among REPO's build folders (build-bench/, build/, build-*/), or "".
bench_find_certpilot() {
  local c best="" best_t=0 t
  for c in "$1"/build-bench/src/cli/certpilot "$1"/build/src/cli/certpilot "$1"/build-*/src/cli/certpilot; do
    [[ -x "$c" ]] || continue
    t=$(stat -c %Y "$c")
    if ((t > best_t)); then best="$c"; best_t=$t; fi
  done
  printf '%s' "$best"
}

# CPU seconds (10 ms ticks) of the given processes so far; gone or unreadable ones count 0.
bench_cpu_seconds() {
  local ticks=0 pid t
  for pid in "$@"; do
    t=$(bench_proc_cpu_ticks "$pid" 2>/dev/null) || continue
    ticks=$((ticks + t))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f\n", t / hz }'
}

# Sets the rc column (2) of the last row of the samples file to RC: its certificate was wrong.
bench_mark_last_failed() {
  local samples=$1 rc=$2 tmp="$1.tmp"
  awk -F '\t' -v OFS='\t' -v rc="$rc" -v n="$(wc -l <"$samples")" 'NR == n { $2 = rc } { print }' \
    "$samples" >"$tmp" && mv "$tmp" "$samples"
}
