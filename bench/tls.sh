#!/usr/bin/env bash
# bench/tls.sh: certpilot serve vs nginx (Debian) on loopback, in one run. The same ECDSA P-256
# certificate, one worker each pinned to CPU 0, the load (wrk, bench/tools/tls_rate, or python for
# idle connections) pinned to CPU 1. See bench/README.md for what is measured and how to read it.
#
#   bench/tls.sh [--certpilot PATH | PATH] [--runs N] [--duration S] [--idle N] [--quiet-wait S]
#                [--rates R,R,.. | --rate-fractions P,P,..] [--ka-rates R,R] [--rate-duration S]
#
# Runs itself inside `unshare --net --mount` (only loopback exists in there). Each round runs wrk
# (closed loop: throughput and server CPU) and then bench/tools/tls_rate (open loop at fixed rates:
# latency from each request's scheduled start) against both servers. Targets, each a ratio
# certpilot/nginx of the medians over --runs rounds (nginx and certpilot alternate who goes first):
#   full handshakes per server-CPU-second >= nginx   (Connection: close, no tickets, no session cache)
#   full-handshake p99 latency            <= nginx   (open loop, at each fixed rate)
#   KiB per idle TLS connection           <= nginx
#   failed requests while certpilot swaps its certificate once per second: 0
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # also sets here (bench/) and repo

usage() {
  cat <<'EOF'
usage: bench/tls.sh [options] [CERTPILOT]
  --certpilot PATH  certpilot binary (default: $CERTPILOT, else the newest of
                    build-bench/ build/ build-*/ src/cli/certpilot in the repository)
  --runs N          rounds of full-handshake + keep-alive load per server (default $RUNS or 3)
  --duration S      seconds per wrk run (default $DURATION or 5)
  --idle N          idle TLS connections for the memory figure (default $IDLE or 10000)
  --quiet-wait S    before each round and each open-loop rate pair, wait up to S s for both CPUs
                    to be >= 90 % idle (default 60; 0: never wait). The machines are shared; a
                    build on them moves p99 by 2-3x.
  Open loop, fixed rate (bench/tools/tls_rate, compiled into the work folder):
  --rates R,R,..    full-handshake rates per second (default: --rate-fractions of the lower of the
                    two servers' wrk full-handshake rates in round 1, rounded down to 10/s)
  --rate-fractions P,P,..  per cent for the default --rates (default 15,30,45: the client needs
                    about twice the server's CPU per handshake, so wrk's rate is about the client's
                    ceiling too; above ~50 % of it any other process on the machine makes the
                    client's queue run away)
  --ka-rates R,R,.. keep-alive request rates per second (default 5000,20000; "" for none)
  --ka-connections C  keep-alive connections for --ka-rates (default 50)
  --rate-duration S counted seconds per fixed-rate run (default 10), after 1 s of warm-up
  --lag-limit MS    flag a run whose client start lag p99 is over MS as "client could not keep up"
                    (default 1)
  -h, --help        this text
EOF
}

certpilot="${CERTPILOT:-}"
runs=${RUNS:-3}
duration=${DURATION:-5}
idle=${IDLE:-10000}
quiet_wait=60
rates=""
rate_fractions=15,30,45
ka_rates=5000,20000
ka_connections=50
rate_duration=10
rate_warmup=1
lag_limit=1
args=("$@")
while (($#)); do
  case "$1" in
    --certpilot) certpilot="${2:?--certpilot needs a path}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
    --idle) idle="${2:?--idle needs a number}"; shift 2 ;;
    --quiet-wait) quiet_wait="${2:?--quiet-wait needs seconds}"; shift 2 ;;
    --rates) rates="${2:?--rates needs R,R,..}"; shift 2 ;;
    --rate-fractions) rate_fractions="${2:?--rate-fractions needs P,P,..}"; shift 2 ;;
    --ka-rates) ka_rates="${2?--ka-rates needs R,R,.. or \"\"}"; shift 2 ;;
    --ka-connections) ka_connections="${2:?--ka-connections needs a number}"; shift 2 ;;
    --rate-duration) rate_duration="${2:?--rate-duration needs seconds}"; shift 2 ;;
    --lag-limit) lag_limit="${2:?--lag-limit needs milliseconds}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; bench_die "unknown argument '$1'" ;;
    *) certpilot="$1"; shift ;;
  esac
done
for v in "$runs" "$duration" "$idle" "$quiet_wait" "$ka_connections" "$rate_duration"; do
  [[ "$v" =~ ^[0-9]+$ ]] ||
    bench_die "--runs, --duration, --idle, --quiet-wait, --ka-connections and --rate-duration take whole numbers"
done
((runs >= 1 && duration >= 1 && rate_duration >= 1 && ka_connections >= 1)) ||
  bench_die "--runs, --duration, --rate-duration and --ka-connections must be >= 1"
for v in "$rates" "$rate_fractions" "$ka_rates"; do
  [[ "$v" =~ ^([0-9]+(,[0-9]+)*)?$ ]] || bench_die "--rates, --rate-fractions and --ka-rates take N,N,.. (whole numbers)"
done
[[ "$lag_limit" =~ ^[0-9]+([.][0-9]+)?$ ]] || bench_die "--lag-limit takes milliseconds"

# ---------------------------------------------------------------------------------------------
# Outside the namespace: check the tools, then re-exec isolated.
if ! bench_isolated; then
  ((EUID == 0)) || bench_die "needs root (unshare --net)"
  bench_require_tools --hint "apt-get install nginx-light wrk python3 bc g++" nginx wrk python3 openssl taskset unshare ip bc g++
  [[ -f /usr/include/openssl/ssl.h ]] || bench_die "OpenSSL headers not found (apt-get install libssl-dev)"
  certpilot="$(bench_certpilot_path "$certpilot" "$repo")"
  bench_reexec_isolated "$here/tls.sh" "$certpilot" "${args[@]}"
fi

# ---------------------------------------------------------------------------------------------
# Inside: loopback only.
bench_loopback_up

hard=$(ulimit -Hn)
if [[ "$hard" != unlimited ]] && ((hard < idle * 2 + 1000)); then
  idle=$(((hard - 1000) / 2))
  bench_log "fd limit $hard: --idle lowered to $idle"
fi
ulimit -n $((idle * 2 + 1000))
work=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-bench-tls-XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
bench_on_exit cleanup

# The open-loop load generator: a bench tool, built here, not part of the product build.
g++ -O2 -std=c++20 -Wall -Wextra -Werror "$here/tools/tls_rate.cpp" -lssl -lcrypto -o "$work/tls_rate" ||
  bench_die "cannot compile bench/tools/tls_rate.cpp"

# One ECDSA P-256 certificate, served by both.
make_cert() {  # dir
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
    -subj /CN=bench.test -addext subjectAltName=DNS:bench.test -days 30 2>/dev/null
  cp "$1/cert.pem" "$1/fullchain.pem"
}
make_cert "$work/v/0"
ln -sfn "$work/v/0" "$work/certs"

nginx_port=18501
cp_port=18502
cat >"$work/nginx.conf" <<NGX
worker_processes 1;
worker_cpu_affinity 1;
worker_rlimit_nofile $((idle * 2 + 1000));
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections $((idle + 1000)); }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/certs/fullchain.pem;
    ssl_certificate_key $work/certs/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_session_tickets off;
    ssl_session_cache off;
    keepalive_requests 1000000;
    location / { return 200 "ok\n"; }
  }
}
NGX
taskset -c 0 nginx -c "$work/nginx.conf" &
pids+=($!)
taskset -c 0 "$certpilot" --log-level warn serve --certs "$work/certs" --listen 127.0.0.1:$cp_port --threads 1 \
  --no-session-tickets --no-session-cache --max-connections $((idle + 1000)) >"$work/certpilot.log" 2>&1 &
cp_pid=$!
pids+=("$cp_pid")
sleep 1
nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
[[ -n "$nginx_worker" ]] || bench_die "nginx did not start: $(cat "$work/nginx-error.log")"
kill -0 "$cp_pid" 2>/dev/null || bench_die "certpilot did not start: $(cat "$work/certpilot.log")"

hz=$(getconf CLK_TCK)
nginx_version=$(nginx -v 2>&1 | sed 's/.*nginx\///')
cp_version="$("$certpilot" version 2>/dev/null | head -n 1 || true)"
cp_commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
results="$work/results.tsv"  # server  kind  run  rps  p99_ms  errors  requests  cpu_s
: >"$results"

# Both CPUs >= 90 % idle over 2 s, waiting at most --quiet-wait seconds; 1 if that never happened.
wait_quiet() {
  local end=$((SECONDS + quiet_wait)) a b tot i
  ((quiet_wait > 0)) || return 0
  while ((SECONDS < end)); do
    read -ra a < <(head -1 /proc/stat)
    sleep 2
    read -ra b < <(head -1 /proc/stat)
    tot=0
    for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
    ((tot > 0 && (b[4] - a[4]) * 100 / tot >= 90)) && return 0
  done
  return 1
}

to_ms() {  # wrk's "850.00us" / "12.10ms" / "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; printf "%.2f\n", n }'
}

# One wrk run against one server; appends a line to $results.
run_wrk() {  # name pid port kind run [wrk args...]
  local name=$1 pid=$2 port=$3 kind=$4 run=$5 before after out
  shift 5
  before=$(bench_proc_cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c50 -d"${duration}s" --latency "$@" "https://127.0.0.1:$port/" 2>&1)
  after=$(bench_proc_cpu_ticks "$pid")
  local rps reqs p99 errs cpu
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  errs=$(awk '/Socket errors/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i }
              /Non-2xx/ { s += $NF } END { print s + 0 }' <<<"$out")
  cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN { printf "%.3f\n", (a - b) / hz }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$run" "${rps:-nan}" "$p99" "$errs" "${reqs:-0}" "$cpu" >>"$results"
  printf '%s\n' "$rps $p99 $errs $reqs $cpu"
}

column_of() {  # name kind column -> values
  awk -F '\t' -v n="$1" -v k="$2" -v c="$3" '$1 == n && $2 == k { print $c }' "$results"
}
hs_per_cpu() {  # name -> one value per run
  awk -F '\t' -v n="$1" '$1 == n && $2 == "close" && $8 > 0 { printf "%.0f\n", $7 / $8 }' "$results"
}

# One open-loop run of bench/tools/tls_rate at a fixed rate against one server; appends a line to
# $fixed:  server kind rate run p50 p90 p99 p999 max ok failed lag_p99 client_cpu_pct server_cpu_pct
#          lagged(0/1) failures socket_wait_p99 excl_wait_p50 excl_wait_p99 excl_wait_p999
fixed="$work/fixed.tsv"
: >"$fixed"
run_rate() {  # name pid port kind(handshake|keepalive) rate run
  local name=$1 pid=$2 port=$3 kind=$4 rate=$5 run=$6 before after t0 t1 out line
  local mode=(--mode handshake)
  [[ $kind == keepalive ]] && mode=(--mode keepalive --connections "$ka_connections")
  before=$(bench_proc_cpu_ticks "$pid")
  t0=$(bench_now)
  out=$(timeout --kill-after=5 $((rate_duration + rate_warmup + 60)) taskset -c 1 "$work/tls_rate" "${mode[@]}" \
    --port "$port" --sni bench.test --ca "$work/v/0/cert.pem" --rate "$rate" --duration "$rate_duration" \
    --warmup "$rate_warmup" --timeout 5 2>"$work/tls_rate.err") || true
  t1=$(bench_now)
  after=$(bench_proc_cpu_ticks "$pid")
  line=" $(grep '^mode=' <<<"$out" | tail -n 1)"
  kv() { local v; v=$(sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"); printf '%s' "${v:-nan}"; }
  local p50 p90 p99 p999 max ok failed lag cpct spct lagged fails sw x50 x99 x999
  p50=$(kv p50_ms); p90=$(kv p90_ms); p99=$(kv p99_ms); p999=$(kv p999_ms); max=$(kv max_ms)
  ok=$(kv ok); failed=$(kv failed); lag=$(kv lag_p99_ms); cpct=$(kv client_cpu_pct)
  sw=$(kv socket_wait_p99_ms); x50=$(kv excl_wait_p50_ms); x99=$(kv excl_wait_p99_ms); x999=$(kv excl_wait_p999_ms)
  spct=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v t="$(awk -v x="$t1" -v y="$t0" 'BEGIN { print x - y }')" \
    'BEGIN { if (t > 0) printf "%.1f\n", 100 * (a - b) / hz / t; else print "nan" }')
  lagged=$(awk -v l="$lag" -v m="$lag_limit" 'BEGIN { print (l !~ /^[0-9.]+$/ || l + 0 > m + 0) ? 1 : 0 }')
  fails=$(tr ' ' '\n' <<<"$line" | awk -F= '$1 ~ /^fail_/ && $2 != 0 { printf "%s%s=%s", s, substr($1, 6), $2; s = "," }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$rate" "$run" \
    "$p50" "$p90" "$p99" "$p999" "$max" "$ok" "$failed" "$lag" "$cpct" "$spct" "$lagged" "${fails:--}" \
    "$sw" "$x50" "$x99" "$x999" >>"$fixed"
  local note=""
  ((lagged)) && note=" -- client could not keep up (start lag p99 ${lag} ms > ${lag_limit} ms)"
  bench_log "$name open loop $kind ${rate}/s run $run: p50 $p50 p99 $p99 p99.9 $p999 ms (without client waits: p99 $x99), ok $ok failed $failed${fails:+ ($fails)}, server CPU ${spct} %, client CPU ${cpct} %, client start lag p99 ${lag} ms, socket wait p99 ${sw} ms$note"
  if [[ "$line" == " " || "$failed" != 0 ]]; then
    sed 's/^/  /' "$work/tls_rate.err" >&2
  fi
}

fixed_of() {  # name kind rate column -> values over the rounds
  awk -F '\t' -v n="$1" -v k="$2" -v r="$3" -v c="$4" '$1 == n && $2 == k && $3 == r { print $c }' "$fixed"
}

idle_memory() {  # name pid port -> KiB per connection
  local name=$1 pid=$2 port=$3 before after opened
  before=$(bench_proc_status_kib "$pid" VmRSS)
  taskset -c 1 python3 - "$port" "$idle" "$work/idle-$name.done" <<'PY' &
import socket, ssl, sys, time
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
conns = []
deadline = time.time() + 120
while len(conns) < n and time.time() < deadline:
    s = socket.create_connection(("127.0.0.1", port))
    conns.append(ctx.wrap_socket(s, server_hostname="bench.test"))
open(flag, "w").write(str(len(conns)))
time.sleep(15)
PY
  local py=$!
  bench_wait_until 150 1 test -f "$work/idle-$name.done" || true
  sleep 2
  after=$(bench_proc_status_kib "$pid" VmRSS)
  opened=$(cat "$work/idle-$name.done" 2>/dev/null || echo 0)
  kill "$py" 2>/dev/null || true
  wait "$py" 2>/dev/null || true
  bench_log "$name idle: $opened TLS connections, VmRSS +$((after - before)) KiB"
  awk -v a="$after" -v b="$before" -v n="$opened" 'BEGIN { if (n > 0) printf "%.1f\n", (a - b) / n; else print "nan" }'
}

echo "- machine: $(bench_machine)"
echo "- certpilot: $certpilot ($cp_version, commit $cp_commit); nginx $nginx_version"
echo "- load: wrk -t1 -c50 -d${duration}s (Connection: close for full handshakes), $runs rounds, server on CPU 0, client on CPU 1"
if [[ -n "$rates" ]]; then rates_text="$rates/s (--rates)"; else rates_text="${rate_fractions//,/\/} % of the lower of the two wrk full-handshake rates of round 1"; fi
echo "- open loop: bench/tools/tls_rate (one new TCP connection + full TLS handshake + GET per request, or keep-alive over $ka_connections connections), ${rate_duration} s counted after ${rate_warmup} s of warm-up per run, latency from each request's scheduled start; full handshakes at $rates_text; keep-alive at ${ka_rates:-no}/s"
ceiling=$(openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ { print $(NF-1) }')
echo "- ceiling (openssl speed ecdsap256, one core): ${ceiling:-?} signatures/s"

not_quiet=0
fixed_not_quiet=0
fixed_pairs=0
for run in $(seq "$runs"); do
  round_quiet=1
  wait_quiet || { round_quiet=0; not_quiet=$((not_quiet + 1)); bench_log "round $run: the machine was not quiet"; }
  order=("nginx $nginx_worker $nginx_port" "certpilot $cp_pid $cp_port")
  ((run % 2)) || order=("${order[1]}" "${order[0]}")
  for entry in "${order[@]}"; do
    read -r name pid port <<<"$entry"
    read -r rps p99 errs reqs cpu < <(run_wrk "$name" "$pid" "$port" close "$run" -H "Connection: close")
    bench_log "$name full-handshake run $run: $rps req/s, p99 ${p99} ms, errors $errs, server CPU ${cpu} s"
    read -r rps p99 errs reqs cpu < <(run_wrk "$name" "$pid" "$port" keepalive "$run")
    bench_log "$name keep-alive     run $run: $rps req/s, p99 ${p99} ms, errors $errs"
  done
  if [[ -z "$rates" ]]; then
    # Fixed for all rounds, so that every round measures the same loads.
    lower_from="round 1"
    lower=$(awk -F '\t' '$2 == "close" && $3 == 1 && $4 ~ /^[0-9.]+$/ { if (m == "" || $4 < m) m = $4 } END { print m + 0 }' "$results")
    if ((!round_quiet)) && wait_quiet; then
      # wrk's rate on a busy machine is half of a quiet one's: measure it again (not counted).
      again=""
      for entry in "${order[@]}"; do
        read -r name pid port <<<"$entry"
        again+="$(taskset -c 1 wrk -t1 -c50 -d"${duration}s" -H "Connection: close" "https://127.0.0.1:$port/" 2>&1 |
          awk '/Requests\/sec/ { print $2 }') "
      done
      bench_log "round 1 started busy; wrk full-handshake rates measured again on a quiet machine: $again(round 1: $lower)"
      again=$(tr ' ' '\n' <<<"$again" | bench_min)
      if [[ "$again" =~ ^[0-9.]+$ ]] && [[ "$again" != 0.000 ]]; then
        lower=$again
        lower_from="measured again after round 1 started busy"
      fi
    fi
    ((${lower%.*} > 0)) || bench_die "round 1: no wrk full-handshake rate to derive --rates from"
    rates=$(tr ',' '\n' <<<"$rate_fractions" |
      awk -v l="$lower" '{ r = int(l * $1 / 100 / 10) * 10; if (r < 10) r = 10; printf "%s%d", s, r; s = "," }')
    rates_text="$rates/s: ${rate_fractions//,/\/} % of $lower/s, the lower of the two servers' wrk full-handshake rates ($lower_from)"
    bench_log "open-loop full-handshake rates $rates_text"
  fi
  # Open loop: each rate against both servers back to back (same order as above), each pair
  # started on a quiet machine if possible.
  for spec in $(tr ',' '\n' <<<"$rates" | sed 's/^/handshake:/') $(tr ',' '\n' <<<"$ka_rates" | sed 's/^/keepalive:/'); do
    fixed_pairs=$((fixed_pairs + 1))
    wait_quiet || fixed_not_quiet=$((fixed_not_quiet + 1))
    for entry in "${order[@]}"; do
      read -r name pid port <<<"$entry"
      run_rate "$name" "$pid" "$port" "${spec%%:*}" "${spec#*:}" "$run"
    done
  done
done
nginx_kib=$(idle_memory nginx "$nginx_worker" $nginx_port)
cp_kib=$(idle_memory certpilot "$cp_pid" $cp_port)

bench_log "certpilot swapping its certificate once per second under full-handshake load"
swaps=$((duration * 2))
(for i in $(seq 1 "$swaps"); do
  make_cert "$work/v/$i"
  ln -sfn "$work/v/$i" "$work/certs.tmp"
  mv -T "$work/certs.tmp" "$work/certs"
  sleep 1
done) &
swapper=$!
saved_duration=$duration
duration=$swaps
read -r _ _ swap_errs swap_reqs _ < <(run_wrk certpilot "$cp_pid" $cp_port swaps 1 -H "Connection: close")
duration=$saved_duration
wait "$swapper"

med() { bench_median; }
num() { awk -v v="$1" -v d="$2" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.*f", d, v; else printf "%s", v }'; }
echo
echo "Closed loop (wrk -t1 -c50; its latency clock starts after the handshake):"
echo
echo "| server | full handshakes/s | wrk p99 full handshake ms [min–max] | handshakes per server-CPU-s [min–max] | keep-alive req/s | wrk p99 keep-alive ms | KiB per idle connection |"
echo "|---|---|---|---|---|---|---|"
for name in nginx certpilot; do
  printf '| %s | %s | %s [%s–%s] | %s [%s–%s] | %s | %s | %s |\n' "$name" \
    "$(num "$(column_of "$name" close 4 | med)" 0)" \
    "$(num "$(column_of "$name" close 5 | med)" 1)" "$(num "$(column_of "$name" close 5 | bench_min)" 1)" \
    "$(num "$(column_of "$name" close 5 | bench_max)" 1)" \
    "$(num "$(hs_per_cpu "$name" | med)" 0)" "$(num "$(hs_per_cpu "$name" | bench_min)" 0)" \
    "$(num "$(hs_per_cpu "$name" | bench_max)" 0)" \
    "$(num "$(column_of "$name" keepalive 4 | med)" 0)" "$(num "$(column_of "$name" keepalive 5 | med)" 1)" \
    "$([[ $name == nginx ]] && echo "$nginx_kib" || echo "$cp_kib")"
done
echo
echo "Medians of $runs rounds [min–max]; $not_quiet of $runs rounds started while the machine was busy."
echo
echo "Open loop, fixed rate (bench/tools/tls_rate; latency from each request's scheduled start to its complete response, handshake included). Full-handshake rates $rates_text."
echo
echo "| load | rate/s | server | p50 ms | p90 ms | p99 ms [min–max] | p99.9 ms | max ms | p99 without client waits ms | server CPU % | client CPU % | client start lag p99 ms [max] | client socket wait p99 ms | runs client lagged | failed |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
fixed_specs=$(awk -F '\t' '!seen[$2 FS $3]++ { print $2 ":" $3 }' "$fixed")
for spec in $fixed_specs; do
  kind=${spec%%:*}
  rate=${spec#*:}
  for name in nginx certpilot; do
    printf '| %s | %s | %s | %s | %s | %s [%s–%s] | %s | %s | %s | %s | %s | %s [%s] | %s | %s of %s | %s |\n' \
      "$([[ $kind == handshake ]] && echo "full handshake" || echo "keep-alive ($ka_connections conn.)")" "$rate" "$name" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 5 | med)" 2)" "$(num "$(fixed_of "$name" "$kind" "$rate" 6 | med)" 2)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 7 | med)" 2)" "$(num "$(fixed_of "$name" "$kind" "$rate" 7 | bench_min)" 2)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 7 | bench_max)" 2)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 8 | med)" 2)" "$(num "$(fixed_of "$name" "$kind" "$rate" 9 | med)" 1)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 19 | med)" 2)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 14 | med)" 0)" "$(num "$(fixed_of "$name" "$kind" "$rate" 13 | med)" 0)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 12 | med)" 2)" "$(num "$(fixed_of "$name" "$kind" "$rate" 12 | bench_max)" 2)" \
      "$(num "$(fixed_of "$name" "$kind" "$rate" 17 | med)" 2)" \
      "$(fixed_of "$name" "$kind" "$rate" 15 | bench_sum | cut -d. -f1)" "$(fixed_of "$name" "$kind" "$rate" 15 | wc -l)" \
      "$(fixed_of "$name" "$kind" "$rate" 11 | bench_sum | cut -d. -f1)"
  done
done
echo
echo "Medians of $runs rounds [min–max]; $fixed_not_quiet of $fixed_pairs rate pairs started while the machine was busy. A run is \"lagged\" when the client's start lag p99 (actual start - scheduled start) was over $lag_limit ms: the client could not keep up, and its lateness is in that run's latencies. Socket wait: how long the server's bytes sat in the client's socket before the client read them (kernel receive timestamps), summed per request. \"Without client waits\": latency minus start lag and socket wait, i.e. the server's time plus the client's own CPU work on the request."
echo
# certpilot/nginx of COLUMN within each round (the two runs of a round are back to back).
round_ratios() {  # kind rate column -> one ratio per round
  awk -F '\t' -v k="$1" -v r="$2" -v c="$3" '$2 == k && $3 == r { v[$1, $4] = $c; n[$4] = 1 }
    END { for (i in n) if (v["nginx", i] + 0 > 0 && v["certpilot", i] ~ /^[0-9.]+$/) printf "%.3f\n", v["certpilot", i] / v["nginx", i] }' "$fixed"
}
echo "| load | rate/s | p50 certpilot / nginx | p99 certpilot / nginx | p99 ratio within each round: median [min–max], rounds certpilot lower | p99.9 certpilot / nginx | p99 without client waits, certpilot / nginx |"
echo "|---|---|---|---|---|---|---|"
for spec in $fixed_specs; do
  kind=${spec%%:*}
  rate=${spec#*:}
  rr=$(round_ratios "$kind" "$rate" 7)
  printf '| %s | %s | %s | %s | %s [%s–%s], %s of %s | %s | %s |\n' \
    "$([[ $kind == handshake ]] && echo "full handshake" || echo keep-alive)" "$rate" \
    "$(bench_ratio "$(fixed_of certpilot "$kind" "$rate" 5 | med)" "$(fixed_of nginx "$kind" "$rate" 5 | med)")" \
    "$(bench_ratio "$(fixed_of certpilot "$kind" "$rate" 7 | med)" "$(fixed_of nginx "$kind" "$rate" 7 | med)")" \
    "$(bench_median <<<"$rr")" "$(bench_min <<<"$rr")" "$(bench_max <<<"$rr")" \
    "$(awk '$1 < 1 { n++ } END { print n + 0 }' <<<"$rr")" "$(grep -c . <<<"$rr" || true)" \
    "$(bench_ratio "$(fixed_of certpilot "$kind" "$rate" 8 | med)" "$(fixed_of nginx "$kind" "$rate" 8 | med)")" \
    "$(bench_ratio "$(fixed_of certpilot "$kind" "$rate" 19 | med)" "$(fixed_of nginx "$kind" "$rate" 19 | med)")"
done
echo
hs_ratio=$(bench_ratio "$(hs_per_cpu certpilot | med)" "$(hs_per_cpu nginx | med)")
p99_ratio=$(bench_ratio "$(column_of certpilot close 5 | med)" "$(column_of nginx close 5 | med)")
ka_ratio=$(bench_ratio "$(column_of certpilot keepalive 5 | med)" "$(column_of nginx keepalive 5 | med)")
mem_ratio=$(bench_ratio "$cp_kib" "$nginx_kib")
at_least() { awk -v r="$1" 'BEGIN { if (r !~ /^[0-9.]+$/) print "n/a"; else if (r + 0 >= 1) print "ok"; else print "MISSED" }'; }
echo "| target (certpilot / nginx) | ratio | verdict |"
echo "|---|---|---|"
echo "| full handshakes per server-CPU-s >= 1 | $hs_ratio | $(at_least "$hs_ratio") |"
for rate in $(awk -F '\t' '$2 == "handshake" && !seen[$3]++ { print $3 }' "$fixed"); do
  r=$(bench_ratio "$(fixed_of certpilot handshake "$rate" 7 | med)" "$(fixed_of nginx handshake "$rate" 7 | med)")
  lagged=$(awk -F '\t' -v r="$rate" '$2 == "handshake" && $3 == r { s += $15 } END { print s + 0 }' "$fixed")
  failed=$(awk -F '\t' -v r="$rate" '$2 == "handshake" && $3 == r { s += $11 } END { print s + 0 }' "$fixed")
  note=""
  ((lagged)) && note=" (client lagged in $lagged of $((runs * 2)) runs)"
  ((failed)) && note="$note (failed requests: $failed)"
  echo "| p99 full handshake, open loop at $rate/s <= 1 | $r | $(bench_verdict "$r" 1)$note |"
done
echo "| (no target) p99 full handshake, closed loop (wrk) | $p99_ratio | |"
echo "| KiB per idle connection <= 1 | $mem_ratio | $(bench_verdict "$mem_ratio" 1) |"
echo "| failed requests during $swaps swaps = 0 | $swap_errs of $swap_reqs | $([[ "$swap_errs" == 0 ]] && echo ok || echo MISSED) |"
echo "| (no target) p99 keep-alive, closed loop (wrk) | $ka_ratio | |"
for rate in $(awk -F '\t' '$2 == "keepalive" && !seen[$3]++ { print $3 }' "$fixed"); do
  r=$(bench_ratio "$(fixed_of certpilot keepalive "$rate" 7 | med)" "$(fixed_of nginx keepalive "$rate" 7 | med)")
  echo "| (no target) p99 keep-alive, open loop at $rate/s | $r | |"
done
