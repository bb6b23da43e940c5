#!/usr/bin/env bash
# Schemathesis (pinned, from PyPI) against the `platform` binary, with every
# check, authenticated as the bootstrap administrator: whatever the OpenAPI
# document lists is exercised, so routes added later are covered unchanged.
#
#   bash .ci/steps/schemathesis.sh            # memory profile
#   PLATFORM_SCHEMATHESIS_PROFILE=postgres bash .ci/steps/schemathesis.sh
#                                             # PostgreSQL + Redis (cache, job queue)
#
# Non-destructive operations run first, then the DELETE operations on their
# own, so a deletion cannot take away what the other operations use. The
# administrator cannot be deleted or stripped anyway (409 `last_admin`).
# Any failure of any check fails the step. Environment:
#   PLATFORM_BIN                    the binary (default: cargo build, debug)
#   PLATFORM_SCHEMATHESIS_EXAMPLES  examples per operation and phase (default 25)
#   PLATFORM_SCHEMATHESIS_EXCLUDE   a path regex of operations to leave out (default none)
#   PLATFORM_TEST_DATABASE_URL      PostgreSQL server (the postgres profile
#                                   creates and drops a database of its own there)
#   PLATFORM_TEST_REDIS_URL         Redis (postgres profile)
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/services/lib.sh

SCHEMATHESIS_VERSION=4.32.5
PROFILE="${PLATFORM_SCHEMATHESIS_PROFILE:-memory}"
EXAMPLES="${PLATFORM_SCHEMATHESIS_EXAMPLES:-25}"
ADMIN_EMAIL="schemathesis-admin@example.com"
ADMIN_PASSWORD="schemathesis-admin-password"

venv=$(svc_venv "schemathesis" "schemathesis==$SCHEMATHESIS_VERSION") || { echo "schemathesis: cannot install" >&2; exit 1; }

BIN="${PLATFORM_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --quiet --bin platform
  BIN="target/debug/platform"
fi

work=$(mktemp -d)
server_pid=""
db_name=""
pg_url="${PLATFORM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$db_name" ]; then psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

export PLATFORM_ENV=development
export PLATFORM__SERVER__PORT="$port"
export PLATFORM__SERVER__PUBLIC_URL="$base"
export PLATFORM__ADMIN__EMAIL="$ADMIN_EMAIL"
export PLATFORM__ADMIN__PASSWORD="$ADMIN_PASSWORD"
# Thousands of logins and registrations from one address are the point here.
export PLATFORM__RATE_LIMIT__ENABLED=false
export PLATFORM__LOGGING__LEVEL=warn
export PLATFORM__MAIL__FILE__DIR="$work/mail"
export PLATFORM__BLOB__LOCAL__ROOT="$work/blobs"
export PLATFORM__HEALTH__DISK_PATH="$work"
if [ "$PROFILE" = "postgres" ]; then
  db_name="schemathesis_$$"
  psql -q "$pg_url" -c "CREATE DATABASE $db_name" >/dev/null
  export PLATFORM__DATABASE__DRIVER=postgres
  export PLATFORM__DATABASE__DSN="${pg_url%/*}/$db_name"
  export PLATFORM__CACHE__DRIVER=redis
  export PLATFORM__REDIS__URL="${PLATFORM_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
  export PLATFORM__SCHEDULER__DRIVER=redis
  export PLATFORM__CACHE__NAMESPACE="$db_name"
fi

"$BIN" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -fsS "$base/ready" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "schemathesis: the server exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/ready" >/dev/null || { tail -n 50 "$work/server.log" >&2; echo "schemathesis: the server is not ready" >&2; exit 1; }

token=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" |
  "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

run() {
  local label=$1; shift
  echo "== schemathesis ($PROFILE, $label)"
  "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml run "$base/openapi.json" \
    --checks all --max-examples "$EXAMPLES" --seed 11 --no-color \
    --phases examples,coverage,fuzzing \
    -H "Authorization: Bearer $token" "$@" | tee "$work/$label.txt"
}
# Every documented operation runs; PLATFORM_SCHEMATHESIS_EXCLUDE (a path
# regex) leaves some out, e.g. to bisect a failure.
EXCLUDE=${PLATFORM_SCHEMATHESIS_EXCLUDE:-}
filter=()
[[ -n $EXCLUDE ]] && filter=(--exclude-path-regex "$EXCLUDE")
status=0
run safe --exclude-method DELETE "${filter[@]}" || status=1
run destructive --include-method DELETE "${filter[@]}" || status=1

echo "== schemathesis ($PROFILE) summary"
grep -hE "API Operations:|Test cases:|Test Phases|failures|Failures|passed|failed" "$work/safe.txt" "$work/destructive.txt" | sed 's/^/  /' || true
if grep -qE '" 5[0-9][0-9] |panicked' "$work/server.log"; then
  echo "schemathesis: the server log shows a panic" >&2
  status=1
fi
exit $status
