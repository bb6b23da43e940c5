#!/usr/bin/env bash
# Measures the login rate of a release build on the memory profile (loopback
# only), next to the pure argon2id hash rate with the same parameters.
#
#   tests/load/login-rate.sh [seconds] [connections]
#
# Needs wrk (Debian package `wrk`). Rate limits are switched off for the run:
# the point is the cost of a login, not the limiter.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_RUN=${1:-15}
CONNECTIONS=${2:-4}
TARGET=${CARGO_TARGET_DIR:-target}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release -q -p platform-bootstrap --bin platform
cargo build --release -q -p platform-adapter-crypto --example argon2_rate
BIN="$TARGET/release/platform"
PORT=${PORT:-18080}
M=$(grep -A3 'argon2:' config/default.yaml | awk '/memory_kib/{print $2}')
T=$(grep -A3 'argon2:' config/default.yaml | awk '/iterations/{print $2}')
P=$(grep -A3 'argon2:' config/default.yaml | awk '/parallelism/{print $2}')

LOG=$(mktemp)
LUA=$(mktemp --suffix=.lua)
PLATFORM__SERVER__PORT=$PORT PLATFORM__LOGGING__LEVEL=warn PLATFORM__RATE_LIMIT__ENABLED=false \
  PLATFORM__MAIL__FILE__DIR="$(mktemp -d)" "$BIN" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG" "$LUA"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "the platform did not start:" >&2; cat "$LOG" >&2; exit 1; }

curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"load@example.com","password":"load test password"}' >/dev/null

cat >"$LUA" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"email":"load@example.com","password":"load test password"}'
local non200 = 0
response = function(status) if status ~= 200 then non200 = non200 + 1 end end
LUA

echo "== login: POST /api/v1/auth/login, ${SECONDS_RUN}s, ${CONNECTIONS} connections, argon2id m=$M t=$T p=$P"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" --latency -s "$LUA" "http://127.0.0.1:$PORT/api/v1/auth/login" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|requests in'
kill $PID; wait $PID 2>/dev/null || true

echo "== pure argon2id hash rate, same parameters, 2 concurrent (the server's default pool)"
"$TARGET/release/examples/argon2_rate" "$M" "$T" "$P" "$SECONDS_RUN" 2
