#!/usr/bin/env bash
# bench/dns.sh: DNS-01 issuance through a real authoritative DNS, certpilot vs lego (rfc2136
# provider), against the same BIND 9 (RFC 2136 + TSIG, on 127.0.0.1:53) and the same Pebble, in one
# run. See bench/README.md ("dns.sh") for what is measured and how to read it.
#
#   bench/dns.sh [--certpilot PATH] [--rounds N] [--names N] [--lego-interval S] [--timeout S]
#                [--work DIR] [--keep]
#
# Runs itself inside `unshare --net --mount` (only loopback exists in there, so BIND can own port 53
# and both clients check the authoritative nameserver exactly as in production), after installing
# lego with apt-get if it is missing. Stops BIND and Pebble on every exit path.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # also sets here (bench/) and repo

usage() {
  cat <<'EOF'
usage: bench/dns.sh [options]
  --certpilot PATH    certpilot binary (default: $CERTPILOT, else build-bench/src/cli/certpilot,
                      else the newest build*/src/cli/certpilot in the repository)
  --rounds N          rounds of (1-name certificate, N-name certificate) per tool (default 3, max 20)
  --names N           names in the multi-name certificate (default 50, max 100)
  --lego-interval S   RFC2136_POLLING_INTERVAL for lego, whole seconds (default 2, lego's default;
                      lego sleeps one interval before its first propagation check)
  --timeout S         per-process limit in seconds (default 900)
  --work DIR          work directory (default: a new mktemp directory); must not exist or be empty
  --keep              keep the work directory (logs, certificates, raw samples) after the run
  -h, --help          this text

Phases, each tool one process per certificate, one after another, distinct names everywhere:
  first   account registration + 1 certificate (reported separately)
  single  1 certificate with 1 name, --rounds times
  multi   1 certificate with --names names, --rounds times
Rounds alternate which tool goes first.
EOF
}

certpilot="${CERTPILOT:-}"
rounds=3
names_n=50
lego_interval=2
per_run_timeout=900
work=""
keep=0
args=("$@")
while (($#)); do
  case "$1" in
    --certpilot) certpilot="${2:?--certpilot needs a path}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --names) names_n="${2:?--names needs a number}"; shift 2 ;;
    --lego-interval) lego_interval="${2:?--lego-interval needs seconds}"; shift 2 ;;
    --timeout) per_run_timeout="${2:?--timeout needs seconds}"; shift 2 ;;
    --work) work="${2:?--work needs a directory}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; bench_die "unknown argument '$1'" ;;
  esac
done
if ! [[ "$rounds" =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 20)); then bench_die "--rounds must be 1..20"; fi
if ! [[ "$names_n" =~ ^[0-9]+$ ]] || ((names_n < 2 || names_n > 100)); then bench_die "--names must be 2..100"; fi
if ! [[ "$lego_interval" =~ ^[0-9]+$ ]] || ((lego_interval > 10)); then bench_die "--lego-interval must be 0..10"; fi
if ! [[ "$per_run_timeout" =~ ^[0-9]+$ ]] || ((per_run_timeout < 5)); then bench_die "--timeout must be >= 5 seconds"; fi

# ---------------------------------------------------------------------------------------------
# Outside the namespace: tools (apt-get needs the network), then re-exec isolated.
if ! bench_isolated; then
  ((EUID == 0)) || bench_die "needs root (unshare --net, BIND on port 53, apt-get)"
  bench_apt_install lego
  bench_require_tools lego pebble named tsig-keygen dig openssl curl jq python3 unshare ip timeout /usr/bin/time
  certpilot="$(bench_certpilot_path "$certpilot" "$repo" "ninja -C build-bench certpilot")"
  bench_reexec_isolated "$here/dns.sh" "$certpilot" "${args[@]}"
fi

# ---------------------------------------------------------------------------------------------
# Inside: loopback only.
bench_loopback_up
# Programs that use the system resolver (lego resolves the NS host names through it) must ask our
# BIND, not a resolver that cannot be reached from here. The mount namespace keeps this private.
resolv_tmp="$(mktemp "${TMPDIR:-/tmp}/bench-dns-resolv-XXXXXX")"
echo "nameserver 127.0.0.1" >"$resolv_tmp"
chmod 644 "$resolv_tmp"
mount --bind "$resolv_tmp" /etc/resolv.conf || bench_die "could not bind-mount /etc/resolv.conf"

work="$(bench_work_dir "$work" dns)"
pebble_dir="$work/pebble"
bind_dir="$work/bind"
samples="$work/samples.tsv"
cp_log="$work/certpilot.log"
lego_log="$work/lego.log"
pebble_started=0
named_pid=""

stop_servers() {
  if ((pebble_started)); then
    "$repo/pebble/stop.sh" --dir "$pebble_dir" >/dev/null 2>&1 || true
  fi
  if [[ -n "$named_pid" ]]; then
    kill "$named_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$named_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$named_pid" 2>/dev/null || true
  fi
  rm -f "${resolv_tmp:-}"
}
bench_cleanup_on_exit stop_servers

export BENCH_TIMEOUT=$per_run_timeout
zone=bench.test
key_name=bench-key
lego_version="$(dpkg-query -W -f '${Version}' lego 2>/dev/null || echo unknown)"
bind_version="$(named -v 2>/dev/null | head -n 1)"
cp_version="$("$certpilot" version 2>/dev/null | head -n 1 || true)"
cp_commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
bench_log "work directory $work"

# --- BIND: authoritative for bench.test (and its parent test) on 127.0.0.1:53 ---------------------
mkdir -p "$bind_dir"
tsig-keygen -a hmac-sha256 "$key_name" >"$bind_dir/key.conf"
tsig_secret="$(awk -F '"' '/secret/ { print $2 }' "$bind_dir/key.conf")"
[[ -n "$tsig_secret" ]] || bench_die "tsig-keygen wrote no secret"
chmod 600 "$bind_dir/key.conf"
cat >"$bind_dir/named.conf" <<EOF
options {
  directory "$bind_dir";
  pid-file none;
  session-keyfile "$bind_dir/session.key";
  managed-keys-directory "$bind_dir";
  listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { any; };
  dnssec-validation no;
  notify no;
};
controls { };
include "$bind_dir/key.conf";
zone "test" { type primary; file "$bind_dir/test.zone"; };
zone "$zone" { type primary; file "$bind_dir/$zone.zone"; allow-update { key "$key_name"; }; };
EOF
cat >"$bind_dir/test.zone" <<EOF
\$TTL 60
@      IN SOA ns1.$zone. hostmaster.$zone. 1 60 60 600 60
@      IN NS  ns1.$zone.
bench  IN NS  ns1.$zone.
EOF
cat >"$bind_dir/$zone.zone" <<EOF
\$TTL 60
@      IN SOA ns1.$zone. hostmaster.$zone. 1 60 60 600 60
@      IN NS  ns1.$zone.
ns1    IN A   127.0.0.1
EOF
named -g -c "$bind_dir/named.conf" >"$bind_dir/named.log" 2>&1 &
named_pid=$!
bind_up=0
for _ in $(seq 1 100); do
  kill -0 "$named_pid" 2>/dev/null || { tail -n 20 "$bind_dir/named.log" >&2; bench_die "named exited"; }
  if [[ -n "$(dig +short +time=1 +tries=1 @127.0.0.1 -p 53 "$zone" SOA 2>/dev/null)" ]]; then bind_up=1; break; fi
  sleep 0.1
done
((bind_up)) || { tail -n 20 "$bind_dir/named.log" >&2; bench_die "named did not answer within 10 s"; }
bench_log "BIND up on 127.0.0.1:53 (pid $named_pid)"

# --- Pebble validating through that BIND ---------------------------------------------------------
pebble_started=1
"$repo/pebble/start.sh" --dir "$pebble_dir" --watch-pid $$ --no-challtestsrv --dns-server 127.0.0.1:53 \
  --env PEBBLE_VA_NOSLEEP=1 --env PEBBLE_WFE_NONCEREJECT=0 --env PEBBLE_AUTHZREUSE=0 >/dev/null
# shellcheck disable=SC1091
. "$pebble_dir/env"

run_id="$(date +%s)"
load_start="$(cut -d ' ' -f 1-3 /proc/loadavg)"
started_at=$SECONDS
cp_state="$work/certpilot-state"
lego_path="$work/lego"
mkdir -p "$cp_state" "$lego_path" "$work/certpilot-out"

declare -A server_cpu_sum=()

# The certificate holds the first and the last name asked for.
check_cert() {
  local file=$1 first=$2 last=$3 san
  [[ -s "$file" ]] || return 1
  san=$(openssl x509 -in "$file" -noout -ext subjectAltName 2>/dev/null) || return 1
  grep -qF "DNS:$first" <<<"$san" && grep -qF "DNS:$last" <<<"$san"
}

# No TXT record of ours may be left behind.
leftover_txt() {
  dig +short +time=1 +tries=1 @127.0.0.1 -p 53 "$1" TXT 2>/dev/null | head -n 1
}

report_last() {
  local rc wall cpu rss
  IFS=$'\t' read -r _ rc wall _ _ cpu rss _ <<<"$(tail -n 1 "$samples")"
  bench_log "$(printf '%-9s %-6s %-40s rc=%-3s wall=%7ss cpu=%6ss rss=%6s MiB' "$1" "$2" "$3" "$rc" "$wall" "$cpu" "$(bench_kib_to_mib "$rss")")"
}

# run_tool TOOL LABEL TAG NAME... : one process issuing one certificate for NAME...
run_tool() {
  local tool=$1 label=$2 tag=$3
  shift 3
  local names=("$@") log before after out cert dflags=() n
  for n in "${names[@]}"; do dflags+=(-d "$n"); done
  if [[ $tool == cp ]]; then log=$cp_log; else log=$lego_log; fi
  echo "=== $label $tag (${#names[@]} names)" >>"$log"
  before=$(bench_cpu_seconds "$PEBBLE_PID" "$named_pid")
  if [[ $tool == cp ]]; then
    out="$work/certpilot-out/$tag"
    cert="$out/cert.pem"
    bench_measure "$samples" "$log" "cp-$label" -- \
      "$certpilot" --log-level warn issue "${dflags[@]}" \
      --directory "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" \
      --agree-tos --email ops@example.test --key-type ec256 \
      --dns rfc2136 --dns-opt server=127.0.0.1:53 --dns-opt "tsig-key-name=$key_name" \
      --dns-opt tsig-algorithm=hmac-sha256 --dns-opt "tsig-secret-file=$bind_dir/key.conf" \
      --dns-resolver 127.0.0.1:53 --out "$out" --state "$cp_state" || true
  else
    cert="$lego_path/certificates/${names[0]}.crt"
    LEGO_CA_CERTIFICATES="$PEBBLE_CA_BUNDLE" \
      RFC2136_NAMESERVER=127.0.0.1:53 RFC2136_TSIG_KEY="$key_name." RFC2136_TSIG_ALGORITHM=hmac-sha256. \
      RFC2136_TSIG_SECRET="$tsig_secret" RFC2136_POLLING_INTERVAL="$lego_interval" RFC2136_PROPAGATION_TIMEOUT=60 \
      RFC2136_SEQUENCE_INTERVAL=0 \
      bench_measure "$samples" "$log" "lego-$label" -- \
      lego --server "$PEBBLE_DIRECTORY" --accept-tos --email ops@example.test --key-type ec256 \
      --dns rfc2136 --dns.resolvers 127.0.0.1:53 --path "$lego_path" "${dflags[@]}" run || true
  fi
  after=$(bench_cpu_seconds "$PEBBLE_PID" "$named_pid")
  server_cpu_sum[$tool-$label]=$(awk -v s="${server_cpu_sum[$tool-$label]:-0}" -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", s + a - b }')
  if [[ "$(tail -n 1 "$samples" | cut -f 2)" == 0 ]]; then
    if ! check_cert "$cert" "${names[0]}" "${names[-1]}"; then
      echo "!!! exit 0 but no certificate for ${names[0]}..${names[-1]} in $cert" >>"$log"
      bench_mark_last_failed "$samples" 98
    elif [[ -n "$(leftover_txt "_acme-challenge.${names[0]}")" ]]; then
      echo "!!! TXT record left behind at _acme-challenge.${names[0]}" >>"$log"
      bench_mark_last_failed "$samples" 97
    fi
  fi
  report_last "$([[ $tool == cp ]] && echo certpilot || echo lego)" "$label" "${names[0]} (${#names[@]})"
}

# name_list PREFIX N : PREFIX-1.bench.test ... PREFIX-N.bench.test
name_list() {
  local i
  for ((i = 1; i <= $2; i++)); do printf '%s-%d.%s\n' "$1" "$i" "$zone"; done
}

# --- the fixed cost of the measuring wrappers, and start-up alone -------------------------------
for ((i = 1; i <= 10; i++)); do bench_measure "$samples" /dev/null floor -- true || true; done
for ((i = 1; i <= 5; i++)); do
  bench_measure "$samples" /dev/null cp-startup -- "$certpilot" version || true
  bench_measure "$samples" /dev/null lego-startup -- lego --version || true
done

# --- phases --------------------------------------------------------------------------------------
bench_log "phase first: account registration + 1 certificate each"
run_tool cp first "cp-first-$run_id" "cp-first-$run_id.$zone"
run_tool lego first "lego-first-$run_id" "lego-first-$run_id.$zone"

for ((r = 1; r <= rounds; r++)); do
  bench_log "round $r of $rounds: 1 name, then $names_n names"
  order=(cp lego)
  ((r % 2)) || order=(lego cp)
  for tool in "${order[@]}"; do
    run_tool "$tool" single "$tool-s$r-$run_id" "$tool-s$r-$run_id.$zone"
  done
  for tool in "${order[@]}"; do
    mapfile -t multi < <(name_list "$tool-m$r-$run_id" "$names_n")
    run_tool "$tool" multi "$tool-m$r-$run_id" "${multi[@]}"
  done
done

# --- report --------------------------------------------------------------------------------------
fmt_range() { # median mean min max n -> "median [min-max]"
  local med min max n
  read -r med _ min max n <<<"$1"
  if [[ "$n" == 0 ]]; then printf '–'; elif [[ "$n" == 1 ]]; then printf '%s' "$med"; else printf '%s [%s–%s]' "$med" "$min" "$max"; fi
}
stat_field() { awk -v f="$2" '{ print $f }' <<<"$1"; }

declare -A W C R
for tool in cp lego; do
  for phase in first single multi; do
    W[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_WALL")
    C[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_CPU")
    R[$tool-$phase]=$(bench_stats "$samples" "$tool-$phase" "$BENCH_COL_RSS")
  done
done
floor_w=$(bench_stats "$samples" floor "$BENCH_COL_WALL")
floor_c=$(bench_stats "$samples" floor "$BENCH_COL_CPU")

phase_title() {
  case $1 in
    first) echo "first (account + 1 name)" ;;
    single) echo "1 name" ;;
    multi) echo "$names_n names" ;;
  esac
}

echo
echo "## bench/dns.sh: DNS-01 through BIND (RFC 2136 + TSIG), certpilot vs lego"
echo
echo "- machine: $(bench_machine) (load at start: $load_start; run took $((SECONDS - started_at)) s)"
echo "- certpilot: $certpilot ($cp_version, commit $cp_commit); lego: Debian $lego_version; $bind_version"
echo "- BIND on 127.0.0.1:53, authoritative for $zone (NS ns1.$zone = 127.0.0.1), TSIG hmac-sha256; Pebble: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0, validating through that BIND"
echo "- both check propagation at the authoritative nameserver; lego RFC2136_POLLING_INTERVAL=$lego_interval RFC2136_SEQUENCE_INTERVAL=0 (its default, 60 s between names, would add 49 min to 50 names), certpilot defaults (--propagation-interval 1, first check at once)"
echo "- one process per certificate, sequential, ec256, distinct names; $rounds rounds, alternating which tool goes first"
echo "- wall/CPU: bash \`time\` (ms); CPU = user+sys incl. children; peak RSS: /usr/bin/time %M (largest process)"
echo
echo "| certificate | tool | ok/runs | wall s median [min–max] | CPU s median [min–max] | peak RSS MiB max (median) | Pebble+BIND CPU s per cert |"
echo "|---|---|---|---|---|---|---|"
for phase in first single multi; do
  for tool in cp lego; do
    n_ok=$(stat_field "${W[$tool-$phase]}" 5)
    n_all=$(bench_count "$samples" "$tool-$phase")
    srv=$(awk -v s="${server_cpu_sum[$tool-$phase]:-nan}" -v n="$n_all" 'BEGIN { if (n > 0 && s != "nan") printf "%.3f", s / n; else print "nan" }')
    printf '| %s | %s | %s/%s | %s | %s | %s (%s) | %s |\n' \
      "$(phase_title "$phase")" "$([[ $tool == cp ]] && echo certpilot || echo lego)" "$n_ok" "$n_all" \
      "$(fmt_range "${W[$tool-$phase]}")" "$(fmt_range "${C[$tool-$phase]}")" \
      "$(bench_kib_to_mib "$(stat_field "${R[$tool-$phase]}" 4)")" \
      "$(bench_kib_to_mib "$(stat_field "${R[$tool-$phase]}" 1)")" "$srv"
  done
done
echo
echo "Ratios certpilot / lego, medians (target: wall <= 0.5, CPU <= 0.333):"
echo
echo "| certificate | wall | CPU | peak RSS (max) | verdict |"
echo "|---|---|---|---|---|"
for phase in single multi; do
  rw=$(bench_ratio "$(stat_field "${W[cp-$phase]}" 1)" "$(stat_field "${W[lego-$phase]}" 1)")
  rc_=$(bench_ratio "$(stat_field "${C[cp-$phase]}" 1)" "$(stat_field "${C[lego-$phase]}" 1)")
  rr=$(bench_ratio "$(stat_field "${R[cp-$phase]}" 4)" "$(stat_field "${R[lego-$phase]}" 4)")
  printf '| %s | %s | %s | %s | wall %s, CPU %s |\n' "$(phase_title "$phase")" "$rw" "$rc_" "$rr" \
    "$(bench_verdict "$rw" 0.5)" "$(bench_verdict "$rc_" 0.333)"
done
echo
echo "Measurement floor (timeout + /usr/bin/time running \`true\`, in every sample): wall $(fmt_range "$floor_w") s, CPU $(fmt_range "$floor_c") s."
su_c=$(bench_stats "$samples" cp-startup "$BENCH_COL_CPU"); su_r=$(bench_stats "$samples" cp-startup "$BENCH_COL_RSS")
su_lc=$(bench_stats "$samples" lego-startup "$BENCH_COL_CPU"); su_lr=$(bench_stats "$samples" lego-startup "$BENCH_COL_RSS")
echo "Start-up alone (\`certpilot version\` / \`lego --version\`, medians of 5): certpilot CPU $(stat_field "$su_c" 1) s, RSS $(bench_kib_to_mib "$(stat_field "$su_r" 1)") MiB; lego CPU $(stat_field "$su_lc" 1) s, RSS $(bench_kib_to_mib "$(stat_field "$su_lr" 1)") MiB."

failures=0
for tool in cp lego; do
  for phase in first single multi; do
    failures=$((failures + $(bench_failures "$samples" "$tool-$phase")))
  done
done
if ((failures)); then
  echo
  echo "FAILED RUNS: $failures (rc 98 = exit 0 without the certificate, 97 = TXT left behind, 124 = timeout). Logs: $cp_log, $lego_log"
  keep=1
  exit 1
fi
