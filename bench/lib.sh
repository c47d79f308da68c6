# shellcheck shell=bash disable=SC2034
# Shared helpers for the bench/*.sh scripts. Source it:  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets `here` (this folder, bench/) and `repo` (the repository above it), as absolute paths.
#
#   bench_measure SAMPLES LOG LABEL -- CMD...   run CMD once, append one sample line to SAMPLES
#   bench_stats SAMPLES LABEL COLUMN            "median mean min max n" of COLUMN over LABEL's lines
#   bench_median / bench_mean / bench_min / bench_max   of the numbers on stdin (one per line)
#   bench_ratio A B                             A/B with 3 decimals ("n/a" if B is 0 or empty)
#   bench_verdict RATIO LIMIT                   "ok" if RATIO <= LIMIT else "MISSED"
#   bench_machine                               one line: date, host, CPU, cores, kernel
#   bench_require_loopback_only                 fail unless the only network interface is lo
#
# Set-up shared by the scripts (see "set-up" below): bench_apt_install, bench_require_tools,
# bench_certpilot_path, bench_isolated, bench_reexec_isolated, bench_loopback_up, bench_work_dir,
# bench_on_exit, bench_cleanup_on_exit.
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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

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

# Numbers on stdin, one per line; non-numeric lines are ignored. No numbers at all gives "nan"
# (bench_sum: 0.000), not a failure: under `set -o pipefail` grep's exit 1 would end the script.
bench_numbers() { grep -E '^[0-9.]+$' || true; }
bench_median() {
  bench_numbers | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bench_mean() { bench_numbers | awk '{ t += $1 } END { if (NR) printf "%.3f\n", t / NR; else print "nan" }'; }
bench_min() { bench_numbers | sort -g | head -n 1 | awk '{ printf "%.3f\n", $1 } END { if (!NR) print "nan" }'; }
bench_max() { bench_numbers | sort -g | tail -n 1 | awk '{ printf "%.3f\n", $1 } END { if (!NR) print "nan" }'; }
bench_sum() { bench_numbers | awk '{ t += $1 } END { printf "%.3f\n", t }'; }

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

# --- set-up ------------------------------------------------------------------------------------
# A script runs twice: first outside (as root: install and check tools, find certpilot), then,
# re-executed by bench_reexec_isolated, inside `unshare --net --mount` where only loopback exists:
#
#   if ! bench_isolated; then
#     ((EUID == 0)) || bench_die "needs root (unshare --net)"
#     bench_apt_install lego
#     bench_require_tools lego pebble ...
#     certpilot=$(bench_certpilot_path "$certpilot" "$repo")
#     bench_reexec_isolated "$here/x.sh" "$certpilot" "${args[@]}"
#   fi
#   bench_loopback_up
#   work=$(bench_work_dir "$work" x)
#   bench_cleanup_on_exit stop_servers      # uses $work and $keep

# bench_apt_install PKG: installs the Debian package PKG if the command PKG is missing. Outside the
# namespace only: apt-get needs the network. The package lists are updated only if the first try fails.
bench_apt_install() {
  local pkg=$1
  command -v "$pkg" >/dev/null && return 0
  bench_log "installing $pkg (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null; } ||
    bench_die "could not install $pkg"
}

# bench_require_tools [--hint TEXT] TOOL...: fails on the first TOOL that is not a command; TEXT
# (how to get it) is added to the message in parentheses.
bench_require_tools() {
  local hint="" tool
  if [[ "${1:-}" == --hint ]]; then hint=" (${2:?bench_require_tools: --hint needs a text})"; shift 2; fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found$hint"
  done
}

# bench_certpilot_path PATH REPO [HOW]: PATH (if empty: the newest build in REPO, see
# bench_find_certpilot) as an absolute path, which the re-executed script gets and the report
# prints; fails if it is not an executable. HOW (how to build it) goes into the message.
bench_certpilot_path() {
  local certpilot=$1 repo=$2 how=${3:-}
  [[ -n "$certpilot" ]] || certpilot="$(bench_find_certpilot "$repo")"
  [[ -n "$certpilot" && -x "$certpilot" ]] ||
    bench_die "no certpilot binary; build it${how:+ ($how)} or pass --certpilot PATH"
  printf '%s/%s' "$(cd "$(dirname "$certpilot")" && pwd)" "$(basename "$certpilot")"
}

# True once bench_reexec_isolated has re-run the script inside the namespace.
bench_isolated() { [[ "${CERTPILOT_BENCH_NETNS:-}" == 1 ]]; }

# bench_reexec_isolated SCRIPT CERTPILOT ARG...: replaces this process by SCRIPT ARG... --certpilot
# CERTPILOT in new network and mount namespaces (root only), with CERTPILOT and
# CERTPILOT_BENCH_NETNS=1 exported. The private mount propagation lets a script bind-mount over
# /etc files without it showing outside.
bench_reexec_isolated() {
  local script=$1 certpilot=$2
  shift 2
  export CERTPILOT="$certpilot" CERTPILOT_BENCH_NETNS=1
  exec unshare --net --mount --propagation private bash "$script" "$@" --certpilot "$certpilot"
}

# Inside the namespace: bring lo up and fail if any other interface exists.
bench_loopback_up() {
  ip link set lo up
  bench_require_loopback_only
}

# bench_work_dir DIR NAME: prints the work directory as an absolute path. With DIR empty a new
# ${TMPDIR:-/tmp}/certpilot-bench-NAME-XXXXXX; otherwise DIR, created if missing, which must be empty
# (so that removing it afterwards removes nothing else).
bench_work_dir() {
  local work=$1 name=$2
  if [[ -z "$work" ]]; then
    mktemp -d "${TMPDIR:-/tmp}/certpilot-bench-$name-XXXXXX"
  else
    mkdir -p "$work" || return
    [[ -z "$(ls -A "$work")" ]] || bench_die "--work $work is not empty"
    (cd "$work" && pwd)
  fi
}

# bench_on_exit FN: FN runs on every exit. INT and TERM become `exit 130` / `exit 143`, so that FN
# sees an exit code that says the run was interrupted.
bench_on_exit() {
  # shellcheck disable=SC2064  # FN's name is meant to be expanded now
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_cleanup_on_exit STOP_FN: on every exit runs STOP_FN (the script stops its servers there),
# then keeps $work if $keep is 1 or the exit code is not 0 (its logs are what a failure leaves to
# read) and removes it otherwise. The exit code stays. $keep is read at exit: setting keep=1 just
# before `exit 1` keeps the directory.
bench_cleanup_on_exit() {
  _bench_stop_fn=$1
  bench_on_exit _bench_cleanup
}
_bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  "$_bench_stop_fn"
  # shellcheck disable=SC2154  # keep and work belong to the script
  if ((keep)); then
    bench_log "kept $work"
  elif ((rc != 0)); then
    bench_log "failed (exit $rc); logs kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
