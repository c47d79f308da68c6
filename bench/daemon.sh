#!/usr/bin/env bash
# bench/daemon.sh: the renewal daemon (`certpilot run`) against a loop of lego invocations, and the
# daemon's idle footprint with many certificates. See bench/README.md ("daemon.sh").
#
#   bench/daemon.sh [--certpilot PATH] [--count N] [--idle-count M] [--idle-seconds S]
#                   [--parallel P] [--timeout S] [--work DIR] [--keep]
#
# Phases, all against one Pebble (PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0)
# and one pebble-challtestsrv, inside `unshare --net` (loopback only):
#   1. daemon:      `certpilot run` with N certificates and an empty store; wall time from spawn until
#                   all N are in the store (polled every 50 ms), its CPU and peak RSS at that point.
#   2. daemon-1:    the same with max_parallel_orders = 1 (sequential, like the lego loop).
#   3. lego loop:   N `lego run` invocations one after another (exec provider -> challtestsrv).
#   4. idle:        `certpilot run` issues M certificates (max_parallel_orders = P), then RSS (VmRSS)
#                   and CPU (utime+stime) are read over S idle seconds.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # also sets here (bench/) and repo

usage() {
  cat <<'EOF'
usage: bench/daemon.sh [options]
  --certpilot PATH   certpilot binary (default: $CERTPILOT, else the newest of build-bench/ build/
                     build-*/ src/cli/certpilot)
  --count N          certificates for the daemon-vs-lego phases (default 100, at most 1000)
  --idle-count M     certificates managed in the idle phase (default 1000, at most 5000)
  --idle-seconds S   length of the idle measurement (default 60)
  --parallel P       max_parallel_orders for phases 1 and 4 (default 8)
  --timeout S        limit for each daemon phase to finish issuing, and for each lego run (default 600)
  --work DIR         work directory (default: mktemp); must not exist or be empty
  --keep             keep the work directory
  -h, --help         this text
EOF
}

certpilot="${CERTPILOT:-}"
count=100
idle_count=1000
idle_seconds=60
parallel=8
timeout_s=600
work=""
keep=0
args=("$@")
while (($#)); do
  case "$1" in
    --certpilot) certpilot="${2:?}"; shift 2 ;;
    --count) count="${2:?}"; shift 2 ;;
    --idle-count) idle_count="${2:?}"; shift 2 ;;
    --idle-seconds) idle_seconds="${2:?}"; shift 2 ;;
    --parallel) parallel="${2:?}"; shift 2 ;;
    --timeout) timeout_s="${2:?}"; shift 2 ;;
    --work) work="${2:?}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; bench_die "unknown argument '$1'" ;;
  esac
done
for v in count idle_count idle_seconds parallel timeout_s; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || bench_die "--${v//_/-} must be a number"
done
((count >= 1 && count <= 1000)) || bench_die "--count must be 1..1000"
((idle_count >= 1 && idle_count <= 5000)) || bench_die "--idle-count must be 1..5000"
((idle_seconds >= 5 && idle_seconds <= 3600)) || bench_die "--idle-seconds must be 5..3600"
((parallel >= 1 && parallel <= 64)) || bench_die "--parallel must be 1..64"
((timeout_s >= 10)) || bench_die "--timeout must be >= 10"

# ---------------------------------------------------------------------------------------------
if ! bench_isolated; then
  ((EUID == 0)) || bench_die "needs root (unshare --net)"
  bench_require_tools --hint "bench/issue.sh installs lego" lego pebble pebble-challtestsrv openssl curl jq python3 unshare ip timeout
  certpilot="$(bench_certpilot_path "$certpilot" "$repo")"
  bench_reexec_isolated "$here/daemon.sh" "$certpilot" "${args[@]}"
fi

bench_loopback_up
work="$(bench_work_dir "$work" daemon)"
pebble_dir="$work/pebble"
samples="$work/samples.tsv"
lego_log="$work/lego.log"
pebble_started=0
daemon_pid=""

stop_servers() {
  if [[ -n "$daemon_pid" ]]; then kill -KILL "$daemon_pid" 2>/dev/null || true; fi
  if ((pebble_started)); then "$repo/pebble/stop.sh" --dir "$pebble_dir" >/dev/null 2>&1 || true; fi
}
bench_cleanup_on_exit stop_servers

hz=$(getconf CLK_TCK)
lego_version="$(dpkg-query -W -f '${Version}' lego 2>/dev/null || echo unknown)"
cp_version="$("$certpilot" version 2>/dev/null | head -n 1 || true)"
cp_commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
load_start="$(cut -d ' ' -f 1-3 /proc/loadavg)"
started_at=$SECONDS

bench_log "work directory $work"
pebble_started=1
"$repo/pebble/start.sh" --dir "$pebble_dir" --watch-pid $$ \
  --env PEBBLE_VA_NOSLEEP=1 --env PEBBLE_WFE_NONCEREJECT=0 --env PEBBLE_AUTHZREUSE=0 >/dev/null
# shellcheck disable=SC1091
. "$pebble_dir/env"
export CHALLTESTSRV_URL
run_id="$(date +%s)"

server_ticks() {
  local t=0 pid
  for pid in "$PEBBLE_PID" "$CHALLTESTSRV_PID"; do t=$((t + $(bench_proc_cpu_ticks "$pid"))); done
  echo "$t"
}

# write_config FILE STORE N PARALLEL PREFIX
write_config() {
  local file=$1 store=$2 n=$3 par=$4 prefix=$5 i
  {
    printf '[ca]\ndirectory = "%s"\nca_bundle = "%s"\nemail = "ops@example.test"\nagree_tos = true\n\n' \
      "$PEBBLE_DIRECTORY" "$PEBBLE_CA_BUNDLE"
    printf '[storage]\ndir = "%s"\n\n' "$store"
    printf '[dns.pebble]\nprovider = "challtestsrv"\noptions = { url = "%s" }\n\n' "$CHALLTESTSRV_URL"
    for ((i = 1; i <= n; i++)); do
      printf '[[certificate]]\nname = "%s-%d"\ndomains = ["%s-%d-%s.bench.test"]\n\n' "$prefix" "$i" "$prefix" "$i" "$run_id"
    done
    printf '[daemon]\nmax_parallel_orders = %d\n' "$par"
  } >"$file"
}

# smaps_by_object SMAPS: "rss_kib anon_kib object" per mapped object (a library's basename,
# [heap], [stack], or "anonymous" for unnamed mappings: thread stacks and malloc arenas), largest first.
smaps_by_object() {
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / { obj = (NF >= 6) ? $6 : "anonymous"; sub(/.*\//, "", obj); next }
    $1 == "Rss:" { rss[obj] += $2 }
    $1 == "Anonymous:" { anon[obj] += $2 }
    END { for (o in rss) if (rss[o] > 0) printf "%d\t%d\t%s\n", rss[o], anon[o], o }
  ' "$1" | sort -rn
}

issued_count() { find "$1/certificates" -mindepth 1 -maxdepth 1 -type l 2>/dev/null | wc -l; }
all_issued() { (($(issued_count "$1") >= $2)); }

# Checks every stored certificate names what it should; prints the number that do.
verify_store() {
  local store=$1 n=$2 prefix=$3 ok=0 i
  for ((i = 1; i <= n; i++)); do
    openssl x509 -in "$store/certificates/$prefix-$i/cert.pem" -noout -ext subjectAltName 2>/dev/null |
      grep -qF "DNS:$prefix-$i-$run_id.bench.test" && ok=$((ok + 1))
  done
  echo "$ok"
}

# The renewal jobs run in `certpilot renew-job` children; their RSS, sampled with the store, is a
# lower bound of their peak (a child lives ~0.1 s).
child_rss=0
issued_sampling_children() {
  local r
  for r in $(ps -o rss= --ppid "$daemon_pid" 2>/dev/null); do ((r > child_rss)) && child_rss=$r; done
  all_issued "$@"
}

# run_daemon LABEL N PARALLEL: issues N from an empty store; sets D_WALL D_CPU D_HWM D_SRV D_OK and
# leaves the daemon running (pid in daemon_pid).
run_daemon() {
  local label=$1 n=$2 par=$3 dir="$work/$1" t0 t1 s0 s1
  mkdir -p "$dir"
  write_config "$dir/config.toml" "$dir/store" "$n" "$par" "$label"
  "$certpilot" check-config --config "$dir/config.toml" >/dev/null
  bench_log "$label: certpilot run with $n certificates (max_parallel_orders $par)"
  s0=$(server_ticks)
  t0=$(bench_now)
  "$certpilot" run --config "$dir/config.toml" 2>"$dir/daemon.log" &
  daemon_pid=$!
  child_rss=0
  if ! bench_wait_until "$timeout_s" 0.05 issued_sampling_children "$dir/store" "$n"; then
    bench_die "$label: only $(issued_count "$dir/store") of $n issued within $timeout_s s (log: $dir/daemon.log)"
  fi
  t1=$(bench_now)
  s1=$(server_ticks)
  D_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  D_CPU=$(awk -v t="$(bench_proc_tree_cpu_ticks "$daemon_pid")" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
  D_HWM=$(bench_proc_status_kib "$daemon_pid" VmHWM)
  D_CHILD=$child_rss
  D_SRV=$(awk -v t="$((s1 - s0))" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
  D_OK=$(verify_store "$dir/store" "$n" "$label")
  bench_log "$label: $D_OK/$n in $D_WALL s, daemon CPU $D_CPU s, peak RSS $(bench_kib_to_mib "$D_HWM") MiB"
}

stop_daemon() {
  kill -TERM "$daemon_pid" 2>/dev/null || true
  timeout 30 tail --pid="$daemon_pid" -f /dev/null || kill -KILL "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
}

# --- phase 1 + 2: the daemon -------------------------------------------------------------------
run_daemon daemon "$count" "$parallel"
p1=("$D_WALL" "$D_CPU" "$D_HWM" "$D_SRV" "$D_OK" "$D_CHILD")
stop_daemon
run_daemon daemon1 "$count" 1
p2=("$D_WALL" "$D_CPU" "$D_HWM" "$D_SRV" "$D_OK" "$D_CHILD")
stop_daemon

# --- phase 3: the lego loop --------------------------------------------------------------------
bench_log "lego: $count invocations, one after another"
export BENCH_TIMEOUT=$timeout_s
lego_path="$work/lego"
mkdir -p "$lego_path"
s0=$(server_ticks)
t0=$(bench_now)
lego_ok=0
for ((i = 1; i <= count; i++)); do
  name="lego-$i-$run_id.bench.test"
  LEGO_CA_CERTIFICATES="$PEBBLE_CA_BUNDLE" EXEC_PATH="$here/hooks/challtestsrv-exec.sh" \
    EXEC_POLLING_INTERVAL=0 EXEC_PROPAGATION_TIMEOUT=30 \
    bench_measure "$samples" "$lego_log" lego -- \
    lego --server "$PEBBLE_DIRECTORY" --accept-tos --email ops@example.test --key-type ec256 \
    --dns exec --dns.resolvers "$CHALLTESTSRV_DNS" --dns.disable-cp \
    --path "$lego_path" -d "$name" run || true
  openssl x509 -in "$lego_path/certificates/$name.crt" -noout -ext subjectAltName 2>/dev/null |
    grep -qF "DNS:$name" && lego_ok=$((lego_ok + 1))
  ((i % 10)) || bench_log "lego: $i done"
done
t1=$(bench_now)
s1=$(server_ticks)
lego_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
lego_cpu=$(bench_column "$samples" lego "$BENCH_COL_CPU" | bench_sum)
lego_rss=$(bench_column "$samples" lego "$BENCH_COL_RSS" | bench_max)
lego_srv=$(awk -v t="$((s1 - s0))" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
lego_walls=$(bench_stats "$samples" lego "$BENCH_COL_WALL")
lego_slow=$(awk -F '\t' '$1 == "lego" && $2 == 0 && $3 >= 4 { n++ } END { print n + 0 }' "$samples")
bench_log "lego: $lego_ok/$count in $lego_wall s"

# --- phase 4: idle with many certificates ------------------------------------------------------
run_daemon idle "$idle_count" "$parallel"
p4=("$D_WALL" "$D_CPU" "$D_HWM" "$D_SRV" "$D_OK" "$D_CHILD")
sleep 5  # let the last jobs' threads and logs settle
bench_log "idle: measuring $idle_seconds s"
c0=$(bench_proc_tree_cpu_ticks "$daemon_pid")
t0=$(bench_now)
rss_samples="$work/idle-rss.txt"
: >"$rss_samples"
for ((i = 0; i < idle_seconds; i++)); do
  bench_proc_status_kib "$daemon_pid" VmRSS >>"$rss_samples"
  sleep 1
done
c1=$(bench_proc_tree_cpu_ticks "$daemon_pid")
t1=$(bench_now)
bench_proc_status_kib "$daemon_pid" VmRSS >>"$rss_samples"
threads=$(bench_proc_status_kib "$daemon_pid" Threads)
rss_anon=$(bench_proc_status_kib "$daemon_pid" RssAnon)
rss_file=$(bench_proc_status_kib "$daemon_pid" RssFile)
# Where the idle RSS is: every mapping's Rss, anonymous vs file-backed, summed per object.
cp "/proc/$daemon_pid/smaps" "$work/idle-smaps.txt" 2>/dev/null || true
smaps_summary="$work/idle-smaps-summary.txt"
smaps_by_object "$work/idle-smaps.txt" >"$smaps_summary" || true
idle_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
idle_cpu_s=$(awk -v t="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
idle_cpu_pct=$(awk -v t="$((c1 - c0))" -v hz="$hz" -v w="$idle_wall" 'BEGIN { printf "%.3f", 100 * t / hz / w }')
rss_max=$(bench_max <"$rss_samples")
rss_med=$(bench_median <"$rss_samples")
stop_daemon

# --- report ------------------------------------------------------------------------------------
mib() { bench_kib_to_mib "$1"; }
ratio=$(bench_ratio "$lego_wall" "${p1[0]}")
ratio1=$(bench_ratio "$lego_wall" "${p2[0]}")
speed_verdict=$(awk -v r="$ratio" 'BEGIN { if (r !~ /^[0-9.]+$/) print "n/a"; else if (r + 0 >= 10) print "ok"; else print "MISSED" }')
# The target is 15 MB = 15,000,000 bytes (14.31 MiB).
rss_verdict=$(awk -v k="$rss_max" 'BEGIN { if (k !~ /^[0-9.]+$/) print "n/a"; else if (k * 1024 <= 15000000) print "ok"; else print "MISSED" }')
cpu_verdict=$(awk -v p="$idle_cpu_pct" 'BEGIN { if (p !~ /^[0-9.]+$/) print "n/a"; else if (p + 0 < 0.1) print "ok"; else print "MISSED" }')

echo
echo "## bench/daemon.sh: the renewal daemon vs a lego loop; idle footprint"
echo
echo "- machine: $(bench_machine) (load at start: $load_start; run took $((SECONDS - started_at)) s)"
echo "- certpilot: $certpilot ($cp_version, commit $cp_commit); lego: Debian $lego_version"
echo "- Pebble: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0; DNS: pebble-challtestsrv (certpilot: provider challtestsrv, lego: --dns exec + bench/hooks/challtestsrv-exec.sh)"
echo "- daemon wall: spawn of \`certpilot run\` until all certificates/<name> symlinks exist (polled every 50 ms), account registration included; CPU: utime+stime of the daemon and its renewal children (/proc/PID/stat, cutime+cstime included); peak RSS: the daemon's VmHWM, and the largest renewal child seen (sampled every 50 ms: a lower bound)"
echo "- lego wall: the whole loop of $count sequential \`lego run\` (account registration in the first); CPU/RSS: bash time / GNU time per run (hook included)"
echo
echo "| phase | certificates ok | wall s | wall s per cert | CPU s | peak RSS MiB (daemon / largest child seen) | Pebble+challtestsrv CPU s |"
echo "|---|---|---|---|---|---|---|"
per() { awk -v w="$1" -v n="$2" 'BEGIN { printf "%.3f", w / n }'; }
printf '| certpilot run, max_parallel_orders %s | %s/%s | %s | %s | %s | %s | %s |\n' "$parallel" "${p1[4]}" "$count" "${p1[0]}" "$(per "${p1[0]}" "$count")" "${p1[1]}" "$(mib "${p1[2]}") / $(mib "${p1[5]}")" "${p1[3]}"
printf '| certpilot run, max_parallel_orders 1 | %s/%s | %s | %s | %s | %s | %s |\n' "${p2[4]}" "$count" "${p2[0]}" "$(per "${p2[0]}" "$count")" "${p2[1]}" "$(mib "${p2[2]}") / $(mib "${p2[5]}")" "${p2[3]}"
printf '| lego loop (%s runs) | %s/%s | %s | %s | %s | %s (largest run) | %s |\n' "$count" "$lego_ok" "$count" "$lego_wall" "$(per "$lego_wall" "$count")" "$lego_cpu" "$(mib "$lego_rss")" "$lego_srv"
echo
read -r lw_med _ lw_min lw_max _ <<<"$lego_walls"
echo "lego per run: wall median $lw_med s [$lw_min–$lw_max]; $lego_slow of $count runs took >= 4 s (its 5 s back-off when the first authorization poll finds it pending)."
echo
echo "Speed-up (lego loop wall / daemon wall; target >= 10): $ratio with max_parallel_orders $parallel ($speed_verdict); $ratio1 with max_parallel_orders 1."
echo
echo "Idle with $idle_count certificates (issued by the daemon in ${p4[0]} s with max_parallel_orders $parallel, ${p4[4]}/$idle_count verified; peak RSS while issuing $(mib "${p4[2]}") MiB in the daemon, $(mib "${p4[5]}") MiB in the largest child seen; CPU ${p4[1]} s with the children):"
echo
echo "| measure | value | target | verdict |"
echo "|---|---|---|---|"
echo "| VmRSS over $idle_wall idle s, max (median) | $(mib "$rss_max") MiB ($(mib "$rss_med") MiB) | <= 15 MB | $rss_verdict |"
echo "| CPU over $idle_wall idle s | $idle_cpu_s s = $idle_cpu_pct % of a core | < 0.1 % | $cpu_verdict |"
echo "| VmRSS at the end: anonymous / file-backed | $(mib "$rss_anon") / $(mib "$rss_file") MiB | | |"
echo "| threads | $threads | | |"
echo
echo "Idle RSS by mapped object at the end (KiB; from /proc/PID/smaps; anonymous = thread stacks and malloc arenas):"
echo
echo "| Rss KiB | of it anonymous KiB | object |"
echo "|---|---|---|"
head -n 12 "$smaps_summary" | awk -F '\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
awk -F '\t' 'NR > 12 { r += $1; a += $2; n++ } END { if (n) printf "| %d | %d | %d other objects |\n", r, a, n }' "$smaps_summary"

failed=$((count - p1[4] + count - p2[4] + count - lego_ok + idle_count - p4[4]))
if ((failed)); then
  echo
  echo "FAILED: $failed certificates missing or wrong; logs in $work"
  keep=1
  exit 1
fi
