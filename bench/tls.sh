#!/usr/bin/env bash
# bench/tls.sh: certpilot serve vs nginx (Debian) on loopback, in one run. The same ECDSA P-256
# certificate, one worker each pinned to CPU 0, the load (wrk, or python for idle connections)
# pinned to CPU 1. See bench/README.md for what is measured and how to read it.
#
#   bench/tls.sh [--certpilot PATH | PATH] [--runs N] [--duration S] [--idle N] [--quiet-wait S]
#
# Runs itself inside `unshare --net --mount` (only loopback exists in there). Targets, each a ratio
# certpilot/nginx of the medians over --runs rounds (nginx and certpilot alternate who goes first):
#   full handshakes per server-CPU-second >= nginx   (Connection: close, no tickets, no session cache)
#   full-handshake p99 latency            <= nginx
#   KiB per idle TLS connection           <= nginx
#   failed requests while certpilot swaps its certificate once per second: 0
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

usage() {
  cat <<'EOF'
usage: bench/tls.sh [options] [CERTPILOT]
  --certpilot PATH  certpilot binary (default: $CERTPILOT, else the newest of
                    build-bench/ build/ build-*/ src/cli/certpilot in the repository)
  --runs N          rounds of full-handshake + keep-alive load per server (default $RUNS or 3)
  --duration S      seconds per wrk run (default $DURATION or 5)
  --idle N          idle TLS connections for the memory figure (default $IDLE or 10000)
  --quiet-wait S    before each round, wait up to S s for both CPUs to be >= 90 % idle (default 60;
                    0: never wait). The machines are shared; a build on them moves p99 by 2-3x.
  -h, --help        this text
EOF
}

certpilot="${CERTPILOT:-}"
runs=${RUNS:-3}
duration=${DURATION:-5}
idle=${IDLE:-10000}
quiet_wait=60
args=("$@")
while (($#)); do
  case "$1" in
    --certpilot) certpilot="${2:?--certpilot needs a path}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
    --idle) idle="${2:?--idle needs a number}"; shift 2 ;;
    --quiet-wait) quiet_wait="${2:?--quiet-wait needs seconds}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; bench_die "unknown argument '$1'" ;;
    *) certpilot="$1"; shift ;;
  esac
done
for v in "$runs" "$duration" "$idle" "$quiet_wait"; do
  [[ "$v" =~ ^[0-9]+$ ]] || bench_die "--runs, --duration, --idle and --quiet-wait take whole numbers"
done
((runs >= 1 && duration >= 1)) || bench_die "--runs and --duration must be >= 1"

# ---------------------------------------------------------------------------------------------
# Outside the namespace: check the tools, then re-exec isolated.
if [[ "${CERTPILOT_BENCH_NETNS:-}" != 1 ]]; then
  ((EUID == 0)) || bench_die "needs root (unshare --net)"
  for tool in nginx wrk python3 openssl taskset unshare ip bc; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found (apt-get install nginx-light wrk python3 bc)"
  done
  [[ -n "$certpilot" ]] || certpilot="$(bench_find_certpilot "$repo")"
  [[ -n "$certpilot" && -x "$certpilot" ]] || bench_die "no certpilot binary; build it or pass --certpilot PATH"
  certpilot="$(cd "$(dirname "$certpilot")" && pwd)/$(basename "$certpilot")"
  export CERTPILOT="$certpilot" CERTPILOT_BENCH_NETNS=1
  exec unshare --net --mount --propagation private bash "$here/tls.sh" "${args[@]}" --certpilot "$certpilot"
fi

# ---------------------------------------------------------------------------------------------
# Inside: loopback only.
ip link set lo up
bench_require_loopback_only

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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
ceiling=$(openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ { print $(NF-1) }')
echo "- ceiling (openssl speed ecdsap256, one core): ${ceiling:-?} signatures/s"

not_quiet=0
for run in $(seq "$runs"); do
  wait_quiet || { not_quiet=$((not_quiet + 1)); bench_log "round $run: the machine was not quiet"; }
  order=("nginx $nginx_worker $nginx_port" "certpilot $cp_pid $cp_port")
  ((run % 2)) || order=("${order[1]}" "${order[0]}")
  for entry in "${order[@]}"; do
    read -r name pid port <<<"$entry"
    read -r rps p99 errs reqs cpu < <(run_wrk "$name" "$pid" "$port" close "$run" -H "Connection: close")
    bench_log "$name full-handshake run $run: $rps req/s, p99 ${p99} ms, errors $errs, server CPU ${cpu} s"
    read -r rps p99 errs reqs cpu < <(run_wrk "$name" "$pid" "$port" keepalive "$run")
    bench_log "$name keep-alive     run $run: $rps req/s, p99 ${p99} ms, errors $errs"
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
echo "| server | full handshakes/s | p99 full handshake ms [min–max] | handshakes per server-CPU-s [min–max] | keep-alive req/s | p99 keep-alive ms | KiB per idle connection |"
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
hs_ratio=$(bench_ratio "$(hs_per_cpu certpilot | med)" "$(hs_per_cpu nginx | med)")
p99_ratio=$(bench_ratio "$(column_of certpilot close 5 | med)" "$(column_of nginx close 5 | med)")
ka_ratio=$(bench_ratio "$(column_of certpilot keepalive 5 | med)" "$(column_of nginx keepalive 5 | med)")
mem_ratio=$(bench_ratio "$cp_kib" "$nginx_kib")
at_least() { awk -v r="$1" 'BEGIN { if (r !~ /^[0-9.]+$/) print "n/a"; else if (r + 0 >= 1) print "ok"; else print "MISSED" }'; }
echo "| target (certpilot / nginx) | ratio | verdict |"
echo "|---|---|---|"
echo "| full handshakes per server-CPU-s >= 1 | $hs_ratio | $(at_least "$hs_ratio") |"
echo "| p99 full handshake <= 1 | $p99_ratio | $(bench_verdict "$p99_ratio" 1) |"
echo "| KiB per idle connection <= 1 | $mem_ratio | $(bench_verdict "$mem_ratio" 1) |"
echo "| failed requests during $swaps swaps = 0 | $swap_errs of $swap_reqs | $([[ "$swap_errs" == 0 ]] && echo ok || echo MISSED) |"
echo "| (no target) p99 keep-alive | $ka_ratio | |"
