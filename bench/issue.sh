#!/usr/bin/env bash
# bench/issue.sh: DNS-01 issuance, certpilot vs lego, against the same Pebble and the same
# pebble-challtestsrv, in one run. See bench/README.md for what is measured and how to read it.
#
#   bench/issue.sh [--certpilot PATH] [--count N] [--timeout S] [--work DIR] [--keep]
#
# Runs itself inside `unshare --net --mount` (only loopback exists in there), after installing lego
# with apt-get if it is missing. Stops Pebble and challtestsrv on every exit path.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # also sets here (bench/) and repo

usage() {
  cat <<'EOF'
usage: bench/issue.sh [options]
  --certpilot PATH  certpilot binary (default: $CERTPILOT, else the newest of
                    build-bench/ build/ build-*/ src/cli/certpilot in the repository)
  --count N         certificates in the batch phase (default 20, at most 500)
  --timeout S       per-process limit in seconds (default 120)
  --work DIR        work directory (default: a new mktemp directory); must not exist or be empty
  --keep            keep the work directory (logs, certificates, raw samples) after the run
  -h, --help        this text

Phases, each tool one process per certificate, one after another, distinct names everywhere:
  first   account registration + 1 certificate (reported separately, not per-certificate)
  single  1 certificate with the stored account
  batch   N certificates with the stored account, certpilot and lego interleaved
EOF
}

certpilot="${CERTPILOT:-}"
count=20
per_run_timeout=120
work=""
keep=0
args=("$@")
while (($#)); do
  case "$1" in
    --certpilot) certpilot="${2:?--certpilot needs a path}"; shift 2 ;;
    --count) count="${2:?--count needs a number}"; shift 2 ;;
    --timeout) per_run_timeout="${2:?--timeout needs seconds}"; shift 2 ;;
    --work) work="${2:?--work needs a directory}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; bench_die "unknown argument '$1'" ;;
  esac
done
if ! [[ "$count" =~ ^[0-9]+$ ]] || ((count < 1 || count > 500)); then bench_die "--count must be 1..500"; fi
if ! [[ "$per_run_timeout" =~ ^[0-9]+$ ]] || ((per_run_timeout < 5)); then bench_die "--timeout must be >= 5 seconds"; fi

# ---------------------------------------------------------------------------------------------
# Outside the namespace: tools (apt-get needs the network), then re-exec isolated.
if ! bench_isolated; then
  ((EUID == 0)) || bench_die "needs root (unshare --net, apt-get)"
  bench_apt_install lego
  bench_require_tools lego pebble pebble-challtestsrv openssl curl jq python3 unshare ip timeout /usr/bin/time
  certpilot="$(bench_certpilot_path "$certpilot" "$repo" "ninja -C build-bench certpilot")"
  bench_reexec_isolated "$here/issue.sh" "$certpilot" "${args[@]}"
fi

# ---------------------------------------------------------------------------------------------
# Inside: loopback only.
bench_loopback_up
work="$(bench_work_dir "$work" issue)"
pebble_dir="$work/pebble"
samples="$work/samples.tsv"
cp_log="$work/certpilot.log"
lego_log="$work/lego.log"
pebble_started=0

stop_servers() {
  if ((pebble_started)); then
    "$repo/pebble/stop.sh" --dir "$pebble_dir" >/dev/null 2>&1 || true
  fi
}
bench_cleanup_on_exit stop_servers

export BENCH_TIMEOUT=$per_run_timeout
lego_version="$(dpkg-query -W -f '${Version}' lego 2>/dev/null || echo unknown)"
cp_version="$("$certpilot" version 2>/dev/null | head -n 1 || true)"
cp_commit="$(git -C "$(dirname "$certpilot")" rev-parse --short HEAD 2>/dev/null || echo unknown)"

bench_log "work directory $work"
bench_log "starting Pebble + challtestsrv"
pebble_started=1
"$repo/pebble/start.sh" --dir "$pebble_dir" --watch-pid $$ \
  --env PEBBLE_VA_NOSLEEP=1 --env PEBBLE_WFE_NONCEREJECT=0 --env PEBBLE_AUTHZREUSE=0 >/dev/null
# shellcheck disable=SC1091
. "$pebble_dir/env"
export CHALLTESTSRV_URL

run_id="$(date +%s)-$$"
load_start="$(cut -d ' ' -f 1-3 /proc/loadavg)"
started_at=$SECONDS
cp_state="$work/certpilot-state"
lego_path="$work/lego"
mkdir -p "$cp_state" "$lego_path" "$work/certpilot-out"

declare -A server_cpu_sum=()

check_cert() {
  local file=$1 name=$2
  [[ -s "$file" ]] || return 1
  openssl x509 -in "$file" -noout -ext subjectAltName 2>/dev/null | grep -qF "DNS:$name"
}

run_certpilot() {
  local label=$1 name=$2 out="$work/certpilot-out/$2" before
  echo "=== $label $name" >>"$cp_log"
  before=$(bench_cpu_seconds "$PEBBLE_PID" "$CHALLTESTSRV_PID")
  bench_measure "$samples" "$cp_log" "cp-$label" -- \
    "$certpilot" --log-level warn issue -d "$name" \
    --directory "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" \
    --agree-tos --email ops@example.test --key-type ec256 \
    --dns challtestsrv --dns-opt "url=$CHALLTESTSRV_URL" \
    --dns-resolver "$CHALLTESTSRV_DNS" --propagation resolvers \
    --out "$out" --state "$cp_state" || true
  record_run cp "$label" "$name" "$before" "$out/cert.pem"
}

run_lego() {
  local label=$1 name=$2 before
  echo "=== $label $name" >>"$lego_log"
  before=$(bench_cpu_seconds "$PEBBLE_PID" "$CHALLTESTSRV_PID")
  LEGO_CA_CERTIFICATES="$PEBBLE_CA_BUNDLE" \
    EXEC_PATH="$here/hooks/challtestsrv-exec.sh" \
    EXEC_POLLING_INTERVAL=0 EXEC_PROPAGATION_TIMEOUT=30 \
    bench_measure "$samples" "$lego_log" "lego-$label" -- \
    lego --server "$PEBBLE_DIRECTORY" --accept-tos --email ops@example.test --key-type ec256 \
    --dns exec --dns.resolvers "$CHALLTESTSRV_DNS" --dns.disable-cp \
    --path "$lego_path" -d "$name" run || true
  record_run lego "$label" "$name" "$before" "$lego_path/certificates/$name.crt"
}

# record_run TOOL LABEL NAME BEFORE CERT, right after TOOL's (cp or lego) run for NAME: adds the
# servers' CPU since BEFORE to the phase's sum, marks the run failed (rc 98) if it exited 0 without
# a certificate for NAME in CERT, and logs the sample.
record_run() {
  local tool=$1 label=$2 name=$3 before=$4 cert=$5 after log=$lego_log where=""
  after=$(bench_cpu_seconds "$PEBBLE_PID" "$CHALLTESTSRV_PID")
  server_cpu_sum[$tool-$label]=$(awk -v s="${server_cpu_sum[$tool-$label]:-0}" -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", s + a - b }')
  if [[ $tool == cp ]]; then log=$cp_log; where=" in $cert"; fi
  if [[ "$(tail -n 1 "$samples" | cut -f 2)" == 0 ]] && ! check_cert "$cert" "$name"; then
    echo "!!! exit 0 but no certificate for $name$where" >>"$log"
    bench_mark_last_failed "$samples" 98
  fi
  report_last "$([[ $tool == cp ]] && echo certpilot || echo lego)" "$label" "$name"
}

report_last() {
  local rc wall cpu rss
  IFS=$'\t' read -r _ rc wall _ _ cpu rss _ <<<"$(tail -n 1 "$samples")"
  bench_log "$(printf '%-9s %-6s %-36s rc=%-3s wall=%6ss cpu=%6ss rss=%6s MiB' "$1" "$2" "$3" "$rc" "$wall" "$cpu" "$(bench_kib_to_mib "$rss")")"
}

# --- the fixed cost of the measuring wrappers (timeout + /usr/bin/time) ------------------------
for ((i = 1; i <= 10; i++)); do bench_measure "$samples" /dev/null floor -- true || true; done
# --- the cost lego pays for its exec hook (bash /dev/tcp), per present+cleanup pair ----------------
for ((i = 1; i <= 10; i++)); do
  # shellcheck disable=SC2016  # $0 is expanded by the inner sh
  bench_measure "$samples" "$lego_log" hook -- sh -c \
    '"$0" present _acme-challenge.hook.bench.test. abc && "$0" cleanup _acme-challenge.hook.bench.test. abc' \
    "$here/hooks/challtestsrv-exec.sh" || true
done

# --- process start-up alone (no network): the part of every sample that is not issuance ---------
for ((i = 1; i <= 5; i++)); do
  bench_measure "$samples" /dev/null cp-startup -- "$certpilot" version || true
  bench_measure "$samples" /dev/null lego-startup -- lego --version || true
done

# --- phases ------------------------------------------------------------------------------------
bench_log "phase first: account registration + 1 certificate each"
run_certpilot first "cp-first-$run_id.bench.test"
run_lego first "lego-first-$run_id.bench.test"

bench_log "phase single: 1 certificate each"
run_certpilot single "cp-single-$run_id.bench.test"
run_lego single "lego-single-$run_id.bench.test"

bench_log "phase batch: $count certificates each, interleaved"
for ((i = 1; i <= count; i++)); do
  if ((i % 2)); then
    run_certpilot batch "cp-$i-$run_id.bench.test"
    run_lego batch "lego-$i-$run_id.bench.test"
  else
    run_lego batch "lego-$i-$run_id.bench.test"
    run_certpilot batch "cp-$i-$run_id.bench.test"
  fi
done

# --- one `certpilot renew` for all --count certificates: how an operator with many certificates
# runs certpilot (the systemd timer, cron). Not comparable run for run with lego (it has no such
# mode), so it is reported on its own line, per certificate, next to lego's per-certificate batch.
bench_log "phase config: $count certificates in one \`certpilot renew --config\`"
{
  printf '[ca]\ndirectory = "%s"\nca_bundle = "%s"\nemail = "ops@example.test"\nagree_tos = true\n' \
    "$PEBBLE_DIRECTORY" "$PEBBLE_CA_BUNDLE"
  printf '[storage]\ndir = "%s"\n' "$work/certpilot-config-store"
  printf '[dns.c]\nprovider = "challtestsrv"\noptions = { url = "%s" }\nresolvers = ["%s"]\npropagation = "resolvers"\n' \
    "$CHALLTESTSRV_URL" "$CHALLTESTSRV_DNS"
  for ((i = 1; i <= count; i++)); do
    printf '[[certificate]]\nname = "c%d"\ndomains = ["cfg-%d-%s.bench.test"]\nkey_type = "ec256"\n' "$i" "$i" "$run_id"
  done
} >"$work/config.toml"
# The account first (as phase "first" does for the others), so the measured run only issues: the
# store's accounts/ is where `issue --state` keeps them too.
"$certpilot" --log-level warn issue -d "cfg-0-$run_id.bench.test" \
  --directory "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --agree-tos --email ops@example.test \
  --dns challtestsrv --dns-opt "url=$CHALLTESTSRV_URL" --dns-resolver "$CHALLTESTSRV_DNS" --propagation resolvers \
  --out "$work/certpilot-out/cfg-0" --state "$work/certpilot-config-store" >>"$cp_log" 2>&1 || true
config_before=$(bench_cpu_seconds "$PEBBLE_PID" "$CHALLTESTSRV_PID")
echo "=== config renew ($count certificates)" >>"$cp_log"
bench_measure "$samples" "$cp_log" cp-config -- "$certpilot" --log-level warn renew --config "$work/config.toml" || true
config_after=$(bench_cpu_seconds "$PEBBLE_PID" "$CHALLTESTSRV_PID")
config_ok=0
for ((i = 1; i <= count; i++)); do
  check_cert "$work/certpilot-config-store/certificates/c$i/cert.pem" "cfg-$i-$run_id.bench.test" && config_ok=$((config_ok + 1))
done
if ((config_ok != count)); then
  echo "!!! config renew: $config_ok of $count certificates" >>"$cp_log"
  bench_mark_last_failed "$samples" 98
fi
report_last "certpilot" "config" "$count certificates"

# --- report ------------------------------------------------------------------------------------
fmt_range() { # median mean min max n -> "median [min-max]"
  local med min max n
  read -r med _ min max n <<<"$1"
  if [[ "$n" == 0 ]]; then printf '–'; elif [[ "$n" == 1 ]]; then printf '%s' "$med"; else printf '%s [%s–%s]' "$med" "$min" "$max"; fi
}
stat_field() { # "median mean min max n" FIELD -> value
  awk -v f="$2" '{ print $f }' <<<"$1"
}

declare -A W C R
for tool in cp lego; do
  for phase in first single batch; do
    W[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_WALL")
    C[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_CPU")
    R[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_RSS")
  done
done
floor_w=$(bench_stats "$samples" floor "$BENCH_COL_WALL")
floor_c=$(bench_stats "$samples" floor "$BENCH_COL_CPU")
hook_w=$(bench_stats "$samples" hook "$BENCH_COL_WALL")
hook_c=$(bench_stats "$samples" hook "$BENCH_COL_CPU")

echo
echo "## bench/issue.sh: DNS-01 issuance, certpilot vs lego"
echo
echo "- machine: $(bench_machine) (load at start: $load_start; run took $((SECONDS - started_at)) s)"
echo "- certpilot: $certpilot ($cp_version, commit $cp_commit); lego: Debian $lego_version"
echo "- Pebble: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0; DNS: pebble-challtestsrv (certpilot: --dns challtestsrv, lego: --dns exec + bench/hooks/challtestsrv-exec.sh)"
echo "- one process per certificate, sequential, ec256, distinct names; batch phase interleaved (odd i: certpilot first, even i: lego first)"
echo "- wall/CPU: bash \`time\` (ms); CPU = user+sys incl. children; peak RSS: /usr/bin/time %M (largest process of the tree)"
echo
echo "| phase | tool | ok/runs | wall s median [min–max] | wall s mean | CPU s median [min–max] | CPU s mean | peak RSS MiB max (median) | Pebble+challtestsrv CPU s per cert |"
echo "|---|---|---|---|---|---|---|---|---|"
for phase in first single batch; do
  for tool in cp lego; do
    n_ok=$(stat_field "${W[$tool-$phase]}" 5)
    n_all=$(bench_count "$samples" "$tool-$phase")
    srv=$(awk -v s="${server_cpu_sum[$tool-$phase]:-nan}" -v n="$n_all" 'BEGIN { if (n > 0 && s != "nan") printf "%.3f", s / n; else print "nan" }')
    label=$([[ $tool == cp ]] && echo certpilot || echo lego)
    phase_name=$phase
    [[ $phase == first ]] && phase_name="first (account + cert)"
    [[ $phase == batch ]] && phase_name="batch ($count)"
    printf '| %s | %s | %s/%s | %s | %s | %s | %s | %s (%s) | %s |\n' \
      "$phase_name" "$label" "$n_ok" "$n_all" \
      "$(fmt_range "${W[$tool-$phase]}")" "$(stat_field "${W[$tool-$phase]}" 2)" \
      "$(fmt_range "${C[$tool-$phase]}")" "$(stat_field "${C[$tool-$phase]}" 2)" \
      "$(bench_kib_to_mib "$(stat_field "${R[$tool-$phase]}" 4)")" \
      "$(bench_kib_to_mib "$(stat_field "${R[$tool-$phase]}" 1)")" "$srv"
  done
done
echo
echo "Ratios certpilot / lego (target: wall <= 0.333, CPU <= 0.333, peak RSS <= 0.5):"
echo
echo "| phase | wall (median) | wall (mean) | CPU (median) | CPU (mean) | peak RSS (max) | verdict |"
echo "|---|---|---|---|---|---|---|"
for phase in single batch; do
  rw=$(bench_ratio "$(stat_field "${W[cp-$phase]}" 1)" "$(stat_field "${W[lego-$phase]}" 1)")
  rwm=$(bench_ratio "$(stat_field "${W[cp-$phase]}" 2)" "$(stat_field "${W[lego-$phase]}" 2)")
  rc_=$(bench_ratio "$(stat_field "${C[cp-$phase]}" 1)" "$(stat_field "${C[lego-$phase]}" 1)")
  rcm=$(bench_ratio "$(stat_field "${C[cp-$phase]}" 2)" "$(stat_field "${C[lego-$phase]}" 2)")
  rr=$(bench_ratio "$(stat_field "${R[cp-$phase]}" 4)" "$(stat_field "${R[lego-$phase]}" 4)")
  verdict="wall $(bench_verdict "$rw" 0.333)/$(bench_verdict "$rwm" 0.333), CPU $(bench_verdict "$rc_" 0.333)/$(bench_verdict "$rcm" 0.333), RSS $(bench_verdict "$rr" 0.5)"
  phase_name=$phase
  [[ $phase == batch ]] && phase_name="batch ($count)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$phase_name" "$rw" "$rwm" "$rc_" "$rcm" "$rr" "$verdict"
done
echo
echo "Measurement floor (timeout + /usr/bin/time running \`true\`, in every sample above): wall $(fmt_range "$floor_w") s, CPU $(fmt_range "$floor_c") s."
echo "lego's exec hook (bash, /dev/tcp), one present + one cleanup, included in lego's numbers: wall $(fmt_range "$hook_w") s, CPU $(fmt_range "$hook_c") s."
hook_net=$(awk -v h="$(stat_field "$hook_c" 1)" -v f="$(stat_field "$floor_c" 1)" 'BEGIN { if (h !~ /^[0-9.]+$/ || f !~ /^[0-9.]+$/) print "nan"; else printf "%.3f", h - f }')
lego_nohook=$(awk -v l="$(stat_field "${C[lego-batch]}" 1)" -v h="$hook_net" 'BEGIN { if (l !~ /^[0-9.]+$/ || h !~ /^[0-9.]+$/) print "nan"; else printf "%.3f", l - h }')
echo "Without its hook (batch CPU median minus the hook's net $hook_net s) lego would use $lego_nohook s CPU per certificate: certpilot/lego = $(bench_ratio "$(stat_field "${C[cp-batch]}" 1)" "$lego_nohook")."
su_cw=$(bench_stats "$samples" cp-startup "$BENCH_COL_CPU"); su_cr=$(bench_stats "$samples" cp-startup "$BENCH_COL_RSS")
su_lw=$(bench_stats "$samples" lego-startup "$BENCH_COL_CPU"); su_lr=$(bench_stats "$samples" lego-startup "$BENCH_COL_RSS")
echo "Start-up alone (\`certpilot version\` / \`lego --version\`, medians of 5): certpilot CPU $(stat_field "$su_cw" 1) s, RSS $(bench_kib_to_mib "$(stat_field "$su_cr" 1)") MiB; lego CPU $(stat_field "$su_lw" 1) s, RSS $(bench_kib_to_mib "$(stat_field "$su_lr" 1)") MiB."
fast=$(awk -F '\t' '$1 == "lego-batch" && $2 == 0 && $3 < 4 { print $3 }' "$samples")
fast_n=$(grep -cE '^[0-9.]+$' <<<"$fast" || true)
fast_med=$(bench_median <<<"$fast")
echo "lego batch runs without the back-off (< 4 s): $fast_n, wall median $fast_med s [$(bench_min <<<"$fast")–$(bench_max <<<"$fast")]; certpilot batch wall median / that = $(bench_ratio "$(stat_field "${W[cp-batch]}" 1)" "$fast_med")."
lego_slow=$(awk -F '\t' '$1 == "lego-batch" && $2 == 0 && $3 >= 4 { n++ } END { print n + 0 }' "$samples")
echo "lego batch runs that took >= 4 s (its 5 s back-off when the first authorization poll finds it pending): $lego_slow of $(bench_count "$samples" lego-batch)."

cfg_w=$(bench_stats "$samples" cp-config "$BENCH_COL_WALL"); cfg_c=$(bench_stats "$samples" cp-config "$BENCH_COL_CPU")
cfg_r=$(bench_stats "$samples" cp-config "$BENCH_COL_RSS")
cfg_per_c=$(awk -v c="$(stat_field "$cfg_c" 1)" -v n="$count" 'BEGIN { if (c !~ /^[0-9.]+$/) print "nan"; else printf "%.4f", c / n }')
cfg_per_w=$(awk -v w="$(stat_field "$cfg_w" 1)" -v n="$count" 'BEGIN { if (w !~ /^[0-9.]+$/) print "nan"; else printf "%.3f", w / n }')
cfg_srv=$(awk -v a="$config_after" -v b="$config_before" -v n="$count" 'BEGIN { printf "%.3f", (a - b) / n }')
echo "One \`certpilot renew --config\` issuing all $count certificates ($config_ok ok; one process, sequential): wall $(stat_field "$cfg_w" 1) s ($cfg_per_w s per certificate), CPU $(stat_field "$cfg_c" 1) s = $cfg_per_c s per certificate, peak RSS $(bench_kib_to_mib "$(stat_field "$cfg_r" 1)") MiB; Pebble+challtestsrv $cfg_srv s CPU per certificate."
echo "  per certificate against lego's batch medians: CPU $(bench_ratio "$cfg_per_c" "$(stat_field "${C[lego-batch]}" 1)"), wall $(bench_ratio "$cfg_per_w" "$(stat_field "${W[lego-batch]}" 1)"), peak RSS (whole run vs lego's largest) $(bench_ratio "$(stat_field "$cfg_r" 1)" "$(stat_field "${R[lego-batch]}" 4)")."

failures=0
for tool in cp lego; do
  for phase in first single batch; do
    failures=$((failures + $(bench_failures "$samples" "$tool-$phase")))
  done
done
failures=$((failures + $(bench_failures "$samples" cp-config)))
if ((failures)); then
  echo
  echo "FAILED RUNS: $failures (rc 98 = exit 0 without the certificate, 124 = timeout). Logs: $cp_log, $lego_log"
  keep=1
  exit 1
fi
