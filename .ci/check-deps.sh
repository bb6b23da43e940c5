#!/usr/bin/env bash
# The hexagon's rule, checked: ports and core never reach an I/O crate,
# directly or transitively, nor tokio's networking.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for pkg in platform-ports platform-core; do
  bad=$(cargo tree -p "$pkg" -e normal --prefix none 2>/dev/null | awk '{print $1}' | sort -u |
        grep -Ex 'axum|hyper|sqlx|sqlx-core|redis|deadpool-redis|rdkafka|lettre|rust-s3|reqwest|aws-sdk-s3|mio|socket2' || true)
  if [ -n "$bad" ]; then
    echo "check-deps: $pkg depends on I/O crates: $bad" >&2
    status=1
  fi
  if cargo tree -p "$pkg" -e features -i tokio --prefix none 2>/dev/null | grep -q 'tokio feature "net"'; then
    echo "check-deps: $pkg enables tokio's net feature" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "check-deps: ports and core are free of I/O crates"
exit $status
