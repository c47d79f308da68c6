#!/usr/bin/env bash
# Fails when a module includes a module it may not use (DESIGN.md's table), or another module's
# detail/ header.
set -euo pipefail
cd "$(dirname "$0")/../src"
declare -A allowed=(
  [util]="util" [crypto]="util crypto" [http]="util http"
  [acme]="util crypto http acme" [dns]="util crypto http acme dns"
  [store]="util crypto store" [tls]="util crypto tls"
  [agent]="util crypto http acme dns store tls agent" [cli]="util agent cli")
status=0
for m in "${!allowed[@]}"; do
  [ -d "$m" ] || continue
  while IFS=: read -r file _ line; do
    inc=$(sed -n 's/.*#include *"\([a-z_]*\)\/.*/\1/p' <<<"$line")
    [ -n "$inc" ] && [ -d "$inc" ] || continue
    case " ${allowed[$m]} " in
      *" $inc "*) ;;
      *) echo "layering: src/$file includes $inc/ (src/$m may use: ${allowed[$m]})"; status=1 ;;
    esac
    if [ "$inc" != "$m" ] && grep -q "\"$inc/detail/" <<<"$line"; then
      echo "layering: src/$file includes another module's detail header: $line"; status=1
    fi
  done < <(grep -rn '#include "' "$m")
done
# dns/ may use acme/ only through the solver interface.
if grep -rn '#include "acme/' dns | grep -v 'acme/challenge_solver.hpp'; then
  echo "layering: dns/ may include only acme/challenge_solver.hpp"; status=1
fi
[ $status -eq 0 ] && echo "layering: ok"
exit $status
