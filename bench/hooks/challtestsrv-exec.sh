#!/bin/bash
# DNS-01 exec hook for pebble-challtestsrv's management API, in lego's `exec` provider convention
# (also certpilot's `--dns exec`):
#
#   challtestsrv-exec.sh present FQDN VALUE    ->  POST $CHALLTESTSRV_URL/set-txt
#   challtestsrv-exec.sh cleanup FQDN [VALUE]  ->  POST $CHALLTESTSRV_URL/clear-txt
#
# FQDN is the record name ("_acme-challenge.example.test.", trailing dot added if missing).
# CHALLTESTSRV_URL comes from pebble/start.sh's DIR/env (http://127.0.0.1:PORT); anything but a
# loopback address is refused, so a benchmark can never talk to the outside.
#
# One bash process and no curl: the request goes through bash's /dev/tcp. A benchmark charges the
# hook's CPU to the client that runs it (lego), so the hook is kept as cheap as a shell hook can be
# (sh + curl cost about 3 times as much CPU per call on the benchmark machine).
set -euo pipefail

die() { echo "challtestsrv-exec.sh: $*" >&2; exit 2; }

(($# >= 2)) || die "usage: $0 present|cleanup FQDN [VALUE]"
action=$1
fqdn=$2
value=${3:-}
url=${CHALLTESTSRV_URL:?CHALLTESTSRV_URL is not set (source pebble/start.sh DIR/env)}
[[ "$url" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)/?$ ]] || die "CHALLTESTSRV_URL '$url' is not http://127.0.0.1:PORT"
host=${BASH_REMATCH[1]}
port=${BASH_REMATCH[2]}
[[ "$fqdn" == *. ]] || fqdn="$fqdn."
# Record names and DNS-01 values (base64url digests) need no JSON escaping; refuse anything else.
[[ "$fqdn$value" =~ ^[A-Za-z0-9._*-]*$ ]] || die "unexpected character in '$fqdn' / '$value'"

case "$action" in
  present) path=/set-txt;   body="{\"host\":\"$fqdn\",\"value\":\"$value\"}" ;;
  cleanup) path=/clear-txt; body="{\"host\":\"$fqdn\"}" ;;
  *) die "unknown action '$action' (present, cleanup)" ;;
esac

exec 3<>"/dev/tcp/$host/$port" || die "cannot connect to $host:$port"
printf 'POST %s HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
  "$path" "$host" "$port" "${#body}" "$body" >&3
status=""
IFS= read -r -t 5 status <&3 || true
exec 3<&-
[[ "$status" =~ ^HTTP/1\.[01]\ 2[0-9][0-9] ]] || die "$path for $fqdn: unexpected answer '${status%$'\r'}'"
