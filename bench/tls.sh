#!/usr/bin/env bash
# certpilot serve vs nginx (Debian) on loopback: the same ECDSA P-256 certificate, one worker each
# pinned to CPU 0, load (wrk, or python for idle connections) pinned to CPU 1. Prints:
#   full handshakes/s and per server-CPU-second (Connection: close, no tickets, no session cache:
#   every request is a full handshake), keep-alive requests/s, p99 latency, KiB per idle TLS
#   connection, and failed requests while certpilot swaps its certificate once per second.
# Usage: bench/tls.sh [path/to/certpilot]   (needs nginx-light, wrk, python3, openssl)
# Env: DURATION (s, default 5), IDLE (idle connections, default 10000), RUNS (default 3).
set -euo pipefail
CERTPILOT=${1:-$(dirname "$0")/../build-tls/src/cli/certpilot}
CERTPILOT=$(realpath "$CERTPILOT")
DURATION=${DURATION:-5}
IDLE=${IDLE:-10000}
RUNS=${RUNS:-3}
for tool in nginx wrk python3 openssl taskset; do
  command -v "$tool" >/dev/null || { echo "bench/tls.sh: needs $tool (apt-get install nginx-light wrk python3)"; exit 2; }
done
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] || [ "$HARD" -ge $((IDLE * 2 + 1000)) ] || { IDLE=$(( (HARD - 1000) / 2 )); echo "fd limit $HARD: IDLE lowered to $IDLE"; }
ulimit -n $((IDLE * 2 + 1000))
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# One ECDSA P-256 certificate, served by both.
make_cert() {  # dir
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
    -subj /CN=bench.test -addext subjectAltName=DNS:bench.test -days 30 2>/dev/null
  cp "$1/cert.pem" "$1/fullchain.pem"
}
make_cert "$WORK/v/0"
ln -sfn "$WORK/v/0" "$WORK/certs"

NGINX_PORT=18501
CP_PORT=18502
cat > "$WORK/nginx.conf" <<NGX
worker_processes 1;
worker_cpu_affinity 1;
worker_rlimit_nofile $((IDLE * 2 + 1000));
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections $((IDLE + 1000)); }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $WORK/certs/fullchain.pem;
    ssl_certificate_key $WORK/certs/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_session_tickets off;
    ssl_session_cache off;
    keepalive_requests 1000000;
    location / { return 200 "ok\n"; }
  }
}
NGX
taskset -c 0 nginx -c "$WORK/nginx.conf" &
PIDS+=($!)
taskset -c 0 "$CERTPILOT" --log-level warn serve --certs "$WORK/certs" --listen 127.0.0.1:$CP_PORT --threads 1 \
  --no-session-tickets --no-session-cache --max-connections $((IDLE + 1000)) &
CP_PID=$!
PIDS+=($CP_PID)
sleep 1
NGINX_WORKER=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

# wrk: prints "requests/s p99_ms errors" ; server CPU seconds into $WORK/cpu
run_wrk() {  # pid port extra-args...
  local pid=$1 port=$2; shift 2
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" --latency "$@" "https://127.0.0.1:$port/" 2>&1)
  after=$(cpu_ticks "$pid")
  local rps p99 errs reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Socket errors/ {s=0; for (i=3;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i; print s} /Non-2xx/ {print $NF}' | paste -sd+ | bc 2>/dev/null || echo 0)
  echo "$rps $p99 ${errs:-0} $reqs $(echo "scale=3; ($after - $before) / $TCK" | bc)"
}

report() {  # name pid port
  local name=$1 pid=$2 port=$3
  for run in $(seq "$RUNS"); do
    read -r rps p99 errs reqs cpu < <(run_wrk "$pid" "$port" -H "Connection: close")
    echo "$name full-handshake run $run: $rps req/s, p99 $p99, errors $errs, server CPU ${cpu}s, handshakes per server-CPU-s $(echo "scale=0; $reqs / $cpu" | bc)"
    read -r rps p99 errs reqs cpu < <(run_wrk "$pid" "$port")
    echo "$name keep-alive     run $run: $rps req/s, p99 $p99, errors $errs, server CPU ${cpu}s"
  done
}

idle_memory() {  # name pid port
  local name=$1 pid=$2 port=$3 before after
  before=$(rss_kib "$pid")
  taskset -c 1 python3 - "$port" "$IDLE" "$WORK/idle-$name.done" <<'PY' &
import socket, ssl, sys, time, os
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
  for _ in $(seq 150); do [ -f "$WORK/idle-$name.done" ] && break; sleep 1; done
  sleep 2
  after=$(rss_kib "$pid")
  local opened; opened=$(cat "$WORK/idle-$name.done" 2>/dev/null || echo 0)
  echo "$name idle: $opened TLS connections open, RSS +$((after - before)) KiB, $(echo "scale=1; ($after - $before) / $opened" | bc) KiB per connection"
  kill "$py" 2>/dev/null || true; wait "$py" 2>/dev/null || true
}

echo "== ceiling (one core)"
openssl speed -seconds 2 ecdsap256 2>/dev/null | tail -1
openssl speed -seconds 2 ecdhx25519 2>/dev/null | tail -1
echo "== load: wrk -t1 -c50 -d${DURATION}s, server on CPU 0, client on CPU 1"
report nginx "$NGINX_WORKER" $NGINX_PORT
report certpilot "$CP_PID" $CP_PORT
idle_memory nginx "$NGINX_WORKER" $NGINX_PORT
idle_memory certpilot "$CP_PID" $CP_PORT

echo "== certpilot swapping its certificate once per second under full-handshake load"
(for i in $(seq 1 $((DURATION * 2))); do
   make_cert "$WORK/v/$i"; ln -sfn "$WORK/v/$i" "$WORK/certs.tmp"; mv -T "$WORK/certs.tmp" "$WORK/certs"; sleep 1
 done) &
SWAPPER=$!
DURATION=$((DURATION * 2))
read -r rps p99 errs reqs cpu < <(run_wrk "$CP_PID" $CP_PORT -H "Connection: close")
wait $SWAPPER
echo "certpilot under swaps: $rps req/s, $reqs requests, failed $errs"
