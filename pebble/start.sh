#!/usr/bin/env bash
# Starts Pebble (and pebble-challtestsrv) on loopback, on free ports, in a state directory, and prints
# a shell-sourceable environment describing them (also written to DIR/env). See pebble/README.md.
#
# Everything listens on 127.0.0.1 only: tests must never reach beyond loopback.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'EOF'
usage: start.sh [--dir DIR] [--dns-server HOST:PORT] [--eab] [--env KEY=VALUE]... [--no-challtestsrv]
                [--watch-pid PID] [--timeout SECONDS]
  --dir DIR              state directory (created if missing; default: a new mktemp directory)
  --dns-server HOST:PORT resolver Pebble's VA uses (default: challtestsrv's DNS port; with
                         --no-challtestsrv and no --dns-server, the system resolver)
  --eab                  require external account binding (kid-1 / kid-2, see pebble-config-eab.json)
  --env KEY=VALUE        extra environment for Pebble (repeatable), e.g. PEBBLE_WFE_NONCEREJECT=50
  --no-challtestsrv      do not start pebble-challtestsrv
  --watch-pid PID        stop both servers when process PID exits (so a crashed test leaks nothing)
  --timeout SECONDS      how long to wait for the servers to answer (default 30)
EOF
}

die() {
  echo "pebble/start.sh: $*" >&2
  exit 1
}

dir=""
dns_server=""
eab=0
challtestsrv=1
watch_pid=""
timeout=30
pebble_env=("PEBBLE_VA_NOSLEEP=1")

while (($#)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --dns-server) dns_server="${2:?--dns-server needs a value}"; shift 2 ;;
    --eab) eab=1; shift ;;
    --env)
      [[ "${2:-}" =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || die "--env needs KEY=VALUE, got '${2:-}'"
      pebble_env+=("$2"); shift 2 ;;
    --no-challtestsrv) challtestsrv=0; shift ;;
    --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

for tool in pebble openssl curl jq python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done
if ((challtestsrv)); then
  command -v pebble-challtestsrv >/dev/null || die "'pebble-challtestsrv' not found in PATH"
fi

if [[ -z "$dir" ]]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/certpilot-pebble-XXXXXX")"
else
  mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"
# DIR/env is written unquoted so that it is both sourceable and trivially parseable (KEY=VALUE).
[[ "$dir" =~ ^[A-Za-z0-9_./+-]+$ ]] || die "state directory '$dir' must not contain spaces or shell metacharacters"

pebble_pid=""
chall_pid=""
started_ok=0

kill_started() {
  for pid in $pebble_pid $chall_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 0.2
  for pid in $pebble_pid $chall_pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  pebble_pid=""
  chall_pid=""
}

# If anything below fails, take down what we started: a half-started fixture must not leak servers.
cleanup_on_failure() {
  ((started_ok)) && return 0
  kill_started
}
trap cleanup_on_failure EXIT

show_logs_and_die() {
  {
    echo "pebble/start.sh: $*"
    for log in "$dir/pebble.log" "$dir/challtestsrv.log"; do
      [[ -f "$log" ]] || continue
      echo "---- tail of $log"
      tail -n 30 "$log"
    done
  } >&2
  exit 1
}

# Pebble's own HTTPS certificate: a throwaway CA plus a server certificate for every loopback name a
# client may use. Pebble serves the same certificate on its management port.
gen_tls() {
  local d="$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=certpilot test Pebble TLS root" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>"$d/openssl.log" || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$d/pebble-key.pem" -out "$d/pebble.csr" 2>>"$d/openssl.log" || return 1
  cat >"$d/pebble-ext.cnf" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EOF
  openssl x509 -req -in "$d/pebble.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -days 30 -extfile "$d/pebble-ext.cnf" -out "$d/pebble-cert.pem" 2>>"$d/openssl.log" || return 1
}
gen_tls "$dir" || { cat "$dir/openssl.log" >&2; die "openssl failed generating Pebble's TLS certificate"; }

# Free ports: bind port 0 on 127.0.0.1 (TCP, and UDP too so the DNS port works for both), keep all
# sockets open until every port is chosen so the ports are distinct. Another process may still grab
# one before the server binds it: launch() then reports a bind error and we try again.
pick_ports() {
  read -r p_acme p_mgmt p_chall p_dns p_http p_tls < <(
  python3 - <<'EOF'
import socket
held, ports = [], []
while len(ports) < 6:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); u.close()
        continue
    held += [t, u]
    ports.append(port)
print(*ports)
EOF
  )
}

alive() { kill -0 "$1" 2>/dev/null; }

# One attempt: config for the ports picked, start both servers, wait until they answer. Returns 1
# with $failure set when a server died or did not answer in time.
launch() {
  pebble_dns="$dns_server"
  # Pebble never connects to httpPort/tlsPort for DNS-01; pointing them at challtestsrv's listeners
  # keeps HTTP-01 / TLS-ALPN-01 usable for anyone who wants them.
  template="$script_dir/pebble-config.json"
  ((eab)) && template="$script_dir/pebble-config-eab.json"
  jq --arg listen "127.0.0.1:$p_acme" --arg mgmt "127.0.0.1:$p_mgmt" \
     --arg cert "$dir/pebble-cert.pem" --arg key "$dir/pebble-key.pem" \
     --argjson http "$p_http" --argjson tls "$p_tls" \
     '.pebble.listenAddress = $listen | .pebble.managementListenAddress = $mgmt
      | .pebble.certificate = $cert | .pebble.privateKey = $key
      | .pebble.httpPort = $http | .pebble.tlsPort = $tls | .pebble.ocspResponderURL = ""' \
     "$template" >"$dir/pebble-config.json"

  # setsid: the servers outlive this script and must not share its process group (a caller that kills
  # the script's group on timeout, or a Ctrl-C in the terminal, must not take them down by accident).
  if ((challtestsrv)); then
    setsid pebble-challtestsrv \
      -management "127.0.0.1:$p_chall" \
      -dns01 "127.0.0.1:$p_dns" \
      -http01 "127.0.0.1:$p_http" \
      -https01 "" \
      -tlsalpn01 "127.0.0.1:$p_tls" \
      -defaultIPv4 "127.0.0.1" \
      -defaultIPv6 "" \
      </dev/null >>"$dir/challtestsrv.log" 2>&1 &
    chall_pid=$!
    [[ -n "$dns_server" ]] || pebble_dns="127.0.0.1:$p_dns"
  fi

  pebble_args=(-config "$dir/pebble-config.json")
  [[ -n "$pebble_dns" ]] && pebble_args+=(-dnsserver "$pebble_dns")
  # Run from DIR so any relative path Pebble resolves lands in the state directory.
  (cd "$dir" && exec env "${pebble_env[@]}" setsid pebble "${pebble_args[@]}" \
    </dev/null >>"$dir/pebble.log" 2>&1) &
  pebble_pid=$!

  deadline=$((SECONDS + timeout))
  pebble_up=0
  chall_up=$((1 - challtestsrv))
  while ((!pebble_up || !chall_up)); do
    alive "$pebble_pid" || { failure="pebble exited during startup"; return 1; }
    if ((challtestsrv)); then
      alive "$chall_pid" || { failure="pebble-challtestsrv exited during startup"; return 1; }
    fi
    if ((!pebble_up)) && curl -sS -f -o /dev/null --max-time 2 --cacert "$dir/ca.pem" \
        "https://127.0.0.1:$p_acme/dir" 2>/dev/null; then
      pebble_up=1
    fi
    # challtestsrv has no GET health endpoint; any HTTP answer (even 404) means it is listening.
    if ((!chall_up)) && curl -sS -o /dev/null --max-time 2 "http://127.0.0.1:$p_chall/" 2>/dev/null; then
      chall_up=1
    fi
    ((pebble_up && chall_up)) && break
    ((SECONDS < deadline)) || { failure="servers did not answer within ${timeout}s"; return 1; }
    sleep 0.1
  done
  return 0
}

: >"$dir/pebble.log"
: >"$dir/challtestsrv.log"
for attempt in 1 2 3; do
  pick_ports
  launch && break
  # Another process took one of our free ports between picking and binding: pick again.
  if ((attempt < 3)) && grep -qi "address already in use" "$dir/pebble.log" "$dir/challtestsrv.log"; then
    kill_started
    echo "==== attempt $attempt failed with a port conflict, retrying" | tee -a "$dir/pebble.log" >>"$dir/challtestsrv.log"
    continue
  fi
  show_logs_and_die "$failure"
done

# The management port must serve the same TLS certificate as the ACME port (clients use one bundle).
root0="$(curl -sS -f --max-time 5 --cacert "$dir/ca.pem" "https://127.0.0.1:$p_mgmt/roots/0" 2>&1)" \
  || show_logs_and_die "management interface https://127.0.0.1:$p_mgmt/roots/0 failed: $root0"
[[ "$root0" == "-----BEGIN CERTIFICATE-----"* ]] \
  || show_logs_and_die "management /roots/0 did not return a PEM certificate: ${root0:0:200}"

{
  echo "PEBBLE_DIRECTORY=https://127.0.0.1:$p_acme/dir"
  echo "PEBBLE_CA_BUNDLE=$dir/ca.pem"
  echo "PEBBLE_MANAGEMENT=https://127.0.0.1:$p_mgmt"
  echo "PEBBLE_PID=$pebble_pid"
  echo "PEBBLE_STATE_DIR=$dir"
  echo "PEBBLE_EAB=$eab"
  if ((eab)); then
    echo "PEBBLE_EAB_KID=kid-1"
    echo "PEBBLE_EAB_HMAC_KEY=$(jq -r '.pebble.externalAccountMACKeys["kid-1"]' "$dir/pebble-config.json")"
  fi
  if ((challtestsrv)); then
    echo "CHALLTESTSRV_URL=http://127.0.0.1:$p_chall"
    echo "CHALLTESTSRV_DNS=127.0.0.1:$p_dns"
    echo "CHALLTESTSRV_PID=$chall_pid"
  fi
} >"$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"

if [[ -n "$watch_pid" ]]; then
  # Watchdog: when the owner dies without calling stop.sh (a crashed test), stop the servers anyway.
  # stop.sh kills the watchdog first, so it never fires after a normal stop.
  setsid bash -c '
    owner="$1"; shift
    while kill -0 "$owner" 2>/dev/null; do sleep 1; done
    kill -TERM "$@" 2>/dev/null
    sleep 5
    kill -KILL "$@" 2>/dev/null
    exit 0
  ' certpilot-pebble-watchdog "$watch_pid" $pebble_pid $chall_pid \
    </dev/null >/dev/null 2>&1 &
  echo "WATCHDOG_PID=$!" >>"$dir/env"
fi

started_ok=1
cat "$dir/env"
