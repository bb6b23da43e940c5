#!/usr/bin/env bash
# What tracing costs a request when export is off, counted in instructions:
# the memory profile's GET /api/v1/blog/posts/{id} (bearer token, access log
# at info in JSON), run under `valgrind --tool=callgrind`. Instruction counts
# do not depend on what else the machine is doing, where wall-clock timings
# on a shared machine do.
#
# Each configuration runs twice, with N1 and then N2 GETs over one keep-alive
# connection (one curl process); everything else (start-up, login, the post,
# shutdown) is the same in both runs, so
#
#     instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1)
#
# Background work that ticks with time is switched off or slowed down (the
# outbox relay polls once an hour, no job workers), as it would otherwise be
# counted in proportion to how long the longer run took.
#
#   tests/load/trace_overhead.sh                  # this tree: export off, export on
#   BEFORE=26cb9b7 tests/load/trace_overhead.sh   # and that commit, built in a
#                                                 # temporary worktree, first
#
# Configurations measured on this tree:
#   off   telemetry.otlp.enabled=false (the default): no OpenTelemetry layer
#   on    enabled, sampling ratio 1, exporting to a port nobody listens on
#         (every span is built and recorded; export failures are dropped)
# and `before` (export did not exist) for BEFORE's binary.
#
# Environment: N1 (50), N2 (450), BEFORE (a git ref; unset: not measured),
# BIN (a platform binary of this tree, already built: no build),
# BEFORE_BIN (an older binary, already built, measured as `before`),
# BENCH_PORT (18280), KEEP_LOGS=1 keeps the working directory.
# Needs valgrind and curl; builds with cargo (release). Reports, never asserts.
set -euo pipefail
cd "$(dirname "$0")/../.."

N1=${N1:-50}
N2=${N2:-450}
PORT=${BENCH_PORT:-18280}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD=bench-admin-password-0123

die() { echo "trace_overhead: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is required (apt-get install valgrind)"
command -v curl >/dev/null || die "curl is required (apt-get install curl)"
[[ $N1 =~ ^[0-9]+$ && $N2 =~ ^[0-9]+$ ]] && ((N2 > N1)) || die "N1 and N2 must be numbers with N2 > N1"

WORK=$(mktemp -d)
SERVER=
cleanup() {
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null || true
  # A build that failed or was interrupted leaves BEFORE's worktree
  # registered in this repository; unregister it before its files go.
  if [[ -d $WORK/before-src ]]; then git worktree remove --force "$WORK/before-src" || true; fi
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then echo "trace_overhead: logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

BINS=()
LABELS=()
if [[ -n ${BEFORE_BIN:-} ]]; then
  [[ -x $BEFORE_BIN ]] || die "BEFORE_BIN=$BEFORE_BIN is not an executable"
  cp "$BEFORE_BIN" "$WORK/platform-before"
  BINS+=("$WORK/platform-before")
  LABELS+=(before)
  BEFORE=${BEFORE:-BEFORE_BIN}
elif [[ -n ${BEFORE:-} ]]; then
  echo "== building $BEFORE (release) in a temporary worktree"
  git worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null
  # The same target directory: dependencies built for this tree are reused.
  (cd "$WORK/before-src" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p platform-bootstrap --bin platform)
  cp "$TARGET/release/platform" "$WORK/platform-before"
  git worktree remove --force "$WORK/before-src"
  BINS+=("$WORK/platform-before")
  LABELS+=(before)
fi
if [[ -n ${BIN:-} ]]; then
  [[ -x $BIN ]] || die "BIN=$BIN is not an executable"
  cp "$BIN" "$WORK/platform-now"
else
  echo "== building this tree (release)"
  cargo build --release -q -p platform-bootstrap --bin platform
  cp "$TARGET/release/platform" "$WORK/platform-now"
fi
BINS+=("$WORK/platform-now" "$WORK/platform-now")
LABELS+=(off on)

# run LABEL BIN N: one callgrind run with N GETs; sets TOTAL to its
# instruction count. Not called in a subshell: SERVER must stay visible to
# the exit trap, so a failure never leaves a server behind.
run() {
  local label=$1 bin=$2 n=$3 out="$WORK/$1.$3"
  local otlp=(PLATFORM__TELEMETRY__OTLP__ENABLED=false)
  if [[ $label == on ]]; then
    # Port 9 (discard) on loopback: nothing listens, each export fails fast.
    otlp=(PLATFORM__TELEMETRY__OTLP__ENABLED=true PLATFORM__TELEMETRY__OTLP__ENDPOINT=http://127.0.0.1:9
      PLATFORM__TELEMETRY__OTLP__SAMPLING_RATIO=1)
  fi
  mkdir -p "$out-mail" "$out-blobs"
  local base="http://127.0.0.1:$PORT"
  ! curl -s -o /dev/null --max-time 2 "$base/healthz" || die "something already answers on port $PORT (BENCH_PORT)"
  env PLATFORM__SERVER__PORT="$PORT" \
    PLATFORM__ADMIN__EMAIL="$ADMIN_EMAIL" PLATFORM__ADMIN__PASSWORD="$ADMIN_PASSWORD" \
    PLATFORM__RATE_LIMIT__ENABLED=false \
    PLATFORM__AUTH__PASSWORD__ARGON2__MEMORY_KIB=1024 PLATFORM__AUTH__PASSWORD__ARGON2__ITERATIONS=1 \
    PLATFORM__LOGGING__LEVEL=info PLATFORM__LOGGING__FORMAT=json PLATFORM__LOGGING__OUTPUT="$out.log" \
    PLATFORM__MAIL__FILE__DIR="$out-mail" PLATFORM__BLOB__LOCAL__ROOT="$out-blobs" \
    PLATFORM__OUTBOX__RELAY__POLL_INTERVAL=1h PLATFORM__SCHEDULER__WORKERS=false \
    "${otlp[@]}" \
    valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" "$bin" >"$out.stdout" 2>&1 &
  SERVER=$!
  local deadline=$((SECONDS + 600))
  until curl -s -o /dev/null --max-time 2 "$base/healthz"; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$out.stdout" >&2; die "$label: the platform exited"; }
    ((SECONDS < deadline)) || die "$label: no answer on $base/healthz after 600 s"
    sleep 1
  done
  local token post
  token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [[ -n $token ]] || die "$label: login failed"
  post=$(curl -sf -X POST "$base/api/v1/blog/posts" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"title":"Overhead","content":"Counted in instructions."}' |
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [[ -n $post ]] || die "$label: creating the post failed"
  curl -sf -o /dev/null -X POST "$base/api/v1/blog/posts/$post/publish" -H "authorization: Bearer $token" ||
    die "$label: publishing the post failed"
  {
    echo "header = \"authorization: Bearer $token\""
    # Each `url` takes the next `output`.
    for ((i = 0; i < n; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$base/api/v1/blog/posts/$post"; done
  } >"$out.curl"
  local codes
  codes=$(curl -s -K "$out.curl" -w '%{http_code}\n' | sort | uniq -c | tr -s ' ')
  [[ $codes == " $n 200" ]] || die "$label: the GETs did not all answer 200: $codes"
  kill -TERM "$SERVER"
  wait "$SERVER" || true
  SERVER=
  TOTAL=$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$out.callgrind" | head -n1)
  [[ -n $TOTAL ]] || die "$label: no instruction total in $out.callgrind"
}

declare -A PER
for i in "${!LABELS[@]}"; do
  label=${LABELS[$i]}
  bin=${BINS[$i]}
  run "$label" "$bin" "$N1"
  a=$TOTAL
  run "$label" "$bin" "$N2"
  b=$TOTAL
  PER[$label]=$(((b - a) / (N2 - N1)))
  printf '%-7s Ir(%d)=%d Ir(%d)=%d  -> %d instructions/request\n' "$label" "$N1" "$a" "$N2" "$b" "${PER[$label]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f %%", (a / b - 1) * 100 }'; }
if [[ -n ${PER[before]:-} ]]; then
  echo "off vs before: $(ratio "${PER[off]}" "${PER[before]}")   (export off, this tree vs $BEFORE)"
fi
echo "on  vs off:    $(ratio "${PER[on]}" "${PER[off]}")   (every span exported vs export off)"
