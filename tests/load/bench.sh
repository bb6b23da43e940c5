#!/usr/bin/env bash
# The load benchmark: what the platform costs per request, next to a bare axum
# server answering the same JSON (tests/load/baseline). Loopback only. One run
# measures, each after a warm-up:
#
#   baseline   GET /api/v1/blog/posts/{id} on platform-baseline (bare axum)
#   mem GET    the same route on the platform, memory profile, with a bearer
#              token (authenticated + authorized), access log on (info, json, file)
#   pg GET     the same on PostgreSQL + Redis (skipped, loudly, when unreachable)
#   refresh    POST /api/v1/auth/refresh, memory profile, refresh tokens chained
#   login      POST /api/v1/auth/login, memory profile (argon2id-bound)
#
# and prints requests/s, p50/p99 latency, the server's CPU time per request
# (utime+stime from /proc/<pid>/stat over the measured window / completed
# requests), each platform figure as a ratio of the baseline, and the
# platform's RSS idle after start-up and under load. See tests/load/README.md.
#
#   tests/load/bench.sh
#
# Environment: DURATION (measured seconds per phase, 15), WARMUP (3), CONNS
# (32), BENCH_PORT (first of three ports, 18180), BENCH_PG_URL
# (postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL (redis://127.0.0.1:6379),
# KEEP_LOGS=1 keeps the working directory (server logs) for inspection.
# PIN=1 runs every server on CPU 0 and the load generator (one thread) on
# CPU 1, so server and load never compete for a core: the servers then run
# one tokio worker each, and CPU time per request is measured without the
# scheduling noise of four busy threads on two cores (needs taskset).
#
# Needs wrk (Debian: apt-get install wrk) or oha (cargo install oha; then also
# jq). Installs nothing. Exits non-zero only when something could not be set
# up; targets are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-32}
THREADS=2
PIN=${PIN:-0}
SERVER_PIN=()
LOAD_PIN=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  (($(nproc) >= 2)) || die "PIN=1 needs at least 2 CPUs"
  SERVER_PIN=(taskset -c 0)
  LOAD_PIN=(taskset -c 1)
  THREADS=1
elif [[ $PIN != 0 ]]; then
  die "PIN must be 0 or 1, got '$PIN'"
fi
BASE_PORT=${BENCH_PORT:-18180}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
TARGET=${CARGO_TARGET_DIR:-target}
ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD=bench-admin-password-0123

die() { echo "bench: $*" >&2; exit 1; }
loud() { printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!!! %s\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' "$*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$DURATION" && ((DURATION >= 1 && DURATION <= 300)) || die "DURATION must be 1..300 seconds, got '$DURATION'"
is_uint "$WARMUP" && ((WARMUP >= 1 && WARMUP <= 60)) || die "WARMUP must be 1..60 seconds, got '$WARMUP'"
is_uint "$CONNS" && ((CONNS >= THREADS && CONNS <= 1024)) || die "CONNS must be $THREADS..1024, got '$CONNS'"
is_uint "$BASE_PORT" && ((BASE_PORT >= 1024 && BASE_PORT <= 65533)) || die "BENCH_PORT must be 1024..65533"

# --- the load generator ------------------------------------------------------
if command -v wrk >/dev/null; then
  TOOL=wrk
elif command -v oha >/dev/null; then
  TOOL=oha
  command -v jq >/dev/null || die "oha found but jq is missing (apt-get install jq), or install wrk instead"
  # oha renamed --json to --output-format json; accept both generations.
  if oha --help 2>&1 | grep -q -- '--output-format'; then OHA_JSON=(--output-format json); else OHA_JSON=(--json); fi
else
  echo "bench: no load generator found. Install one of:" >&2
  echo "  apt-get install wrk        (Debian/Ubuntu; preferred)" >&2
  echo "  cargo install oha          (and apt-get install jq)" >&2
  exit 1
fi
command -v curl >/dev/null || die "curl is required (apt-get install curl)"
CLK_TCK=$(getconf CLK_TCK)

# --- everything we start is stopped on exit ----------------------------------
WORK=$(mktemp -d -t platform-bench.XXXXXX)
PIDS=()
PG_DB=""
REDIS_NS=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ -n $PG_DB ]]; then
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 ||
      echo "bench: could not drop database $PG_DB" >&2
  fi
  if [[ -n $REDIS_NS ]] && command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" --scan --pattern "*$REDIS_NS*" 2>/dev/null |
      xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then echo "bench: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
forget_pid() { local keep=() p; for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- /proc accounting --------------------------------------------------------
# utime+stime in clock ticks; the comm field may hold spaces, so cut after ')'.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_up NAME PID URL LOG: until URL answers, the process dies, or 60 s pass.
wait_up() {
  local name=$1 pid=$2 url=$3 log=$4 i
  for i in $(seq 1 600); do
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $name did not come up at $url; last log lines:" >&2
  tail -n 30 "$log" >&2
  return 1
}

# --- load phases -------------------------------------------------------------
# Every run prints one machine-readable line:
#   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N sockerr=N starved=N
WRK_DONE='
done = function(summary, latency, requests)
  local e = summary.errors
  local starved = 0
  for _, t in ipairs(bench_threads or {}) do starved = starved + (t:get("starved") or 0) end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d starved=%d\n",
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
    e.status, e.connect + e.read + e.write + e.timeout, starved))
end'

# static_lua FILE METHOD BODY BEARER: a wrk script sending one fixed request.
static_lua() {
  local file=$1 method=$2 body=$3 bearer=$4
  {
    echo "wrk.method = \"$method\""
    if [[ -n $body ]]; then
      echo "wrk.headers[\"content-type\"] = \"application/json\""
      echo "wrk.body = [==[$body]==]"
    fi
    [[ -z $bearer ]] || echo "wrk.headers[\"authorization\"] = \"Bearer $bearer\""
    echo "$WRK_DONE"
  } >"$file"
}

# load_static SECONDS LUA METHOD URL BODY BEARER
load_static() {
  local secs=$1 lua=$2 method=$3 url=$4 body=$5 bearer=$6
  if [[ $TOOL == wrk ]]; then
    "${LOAD_PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s -s "$lua" "$url"
  else
    local args=(--no-tui "${OHA_JSON[@]}" -z "${secs}s" -c "$CONNS" -m "$method" -t 10s)
    [[ -z $body ]] || args+=(-H 'content-type: application/json' -d "$body")
    [[ -z $bearer ]] || args+=(-H "authorization: Bearer $bearer")
    "${LOAD_PIN[@]}" oha "${args[@]}" "$url" | jq -r '
      ([.statusCodeDistribution // {} | to_entries[] | .value] | add // 0) as $n |
      ([.statusCodeDistribution // {} | to_entries[] | select(.key | test("^2") | not) | .value] | add // 0) as $bad |
      ([.errorDistribution // {} | to_entries[] | .value] | add // 0) as $err |
      "BENCH requests=\($n) duration_us=\(.summary.total * 1e6 | floor) p50_us=\(.latencyPercentiles.p50 * 1e6 | floor) p99_us=\(.latencyPercentiles.p99 * 1e6 | floor) non2xx=\($bad) sockerr=\($err) starved=0"'
  fi
}

REFRESH_LUA="$WORK/refresh.lua"
cat >"$REFRESH_LUA" <<LUA
-- Chains refresh tokens. bench.sh logs in once per connection before the run
-- (BENCH_TOKENS, one refresh token a line); each thread takes its share, each
-- request spends one token and each 200 response returns its successor to the
-- pool, so no token is ever sent twice. Each thread gets one spare: wrk calls
-- request() once on the first thread to check the script, and that token is
-- never sent.
bench_threads = {}
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  table.insert(bench_threads, thread)
  counter = counter + 1
end

local pool = {}
local headers = { ["content-type"] = "application/json" }
starved = 0
init = function(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if line ~= "" then
      if i % n == id then table.insert(pool, line) end
      i = i + 1
    end
  end
end

request = function()
  local token = table.remove(pool)
  if token == nil then
    -- A failed refresh lost its chain: send a token the server must refuse.
    starved = starved + 1
    token = "starved"
  end
  return wrk.format("POST", "/api/v1/auth/refresh", headers, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if status == 200 and token then table.insert(pool, token) end
end
$WRK_DONE
LUA

# load_refresh SECONDS TOKENS URL: chained with wrk; with oha (which cannot
# chain) a bounded loop of sequential curl calls on one connection at a time.
load_refresh() {
  local secs=$1 tokens=$2 url=$3
  if [[ $TOOL == wrk ]]; then
    BENCH_TOKENS=$tokens BENCH_THREADS=$THREADS \
      "${LOAD_PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s -s "$REFRESH_LUA" "$url"
  else
    local token times="$WORK/refresh-times" start end n=0 bad=0 out code t
    token=$(head -n1 "$tokens")
    : >"$times"
    start=$(date +%s%N)
    end=$((start + secs * 1000000000))
    while (($(date +%s%N) < end)); do
      out=$(curl -s -X POST "$url" -H 'content-type: application/json' \
        -d "{\"refresh_token\":\"$token\"}" -w '\n%{http_code} %{time_total}') || true
      code=$(tail -n1 <<<"$out" | cut -d' ' -f1)
      t=$(tail -n1 <<<"$out" | cut -d' ' -f2)
      echo "$t" >>"$times"
      n=$((n + 1))
      if [[ $code == 200 ]]; then token=$(json_field refresh_token <<<"$out"); else bad=$((bad + 1)); fi
    done
    local dur=$((($(date +%s%N) - start) / 1000))
    sort -n "$times" | awk -v n="$n" -v d="$dur" -v bad="$bad" '
      { v[NR] = $1 }
      END { i50 = int(n * 0.50); if (i50 < 1) i50 = 1; i99 = int(n * 0.99); if (i99 < 1) i99 = 1
            printf "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=0 starved=0\n",
                   n, d, v[i50] * 1e6, v[i99] * 1e6, bad }'
  fi
}

json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }

# login TOKEN_KIND PORT: logs the admin in, prints the access or refresh token.
login() {
  curl -sf -X POST "http://127.0.0.1:$2/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json_field "$1"
}

# Results, by phase key.
declare -A R_STATUS R_RPS R_P50 R_P99 R_CPU R_NON2XX R_RSS_PEAK R_RSS_END R_NOTE
PHASES=(base mem_get pg_get refresh login)
declare -A LABEL=([base]="baseline GET (bare axum)" [mem_get]="platform GET, memory" [pg_get]="platform GET, postgres+redis"
  [refresh]="refresh (memory)" [login]="login (memory)")
SETUP_FAILED=0

# measure KEY PID PREP LOADFN ARGS...: PREP (may be "") runs before the warm-up
# and again before the measured run, outside the CPU window.
measure() {
  local key=$1 pid=$2 prep=$3 fn=$4
  shift 4
  echo "== ${LABEL[$key]}: warm-up ${WARMUP}s, then ${DURATION}s, $CONNS connections, $TOOL"
  if [[ -n $prep ]] && ! $prep; then R_STATUS[$key]="failed: preparation"; SETUP_FAILED=1; return; fi
  if ! "$fn" "$WARMUP" "$@" >"$WORK/$key-warmup.out" 2>&1; then
    cat "$WORK/$key-warmup.out" >&2
    R_STATUS[$key]="failed: load generator"; SETUP_FAILED=1; return
  fi
  if [[ -n $prep ]] && ! $prep; then R_STATUS[$key]="failed: preparation"; SETUP_FAILED=1; return; fi

  local peak="$WORK/$key-rss-peak" sampler t0 t1 ok=1
  echo 0 >"$peak"
  (
    max=0
    while r=$(rss_kb "$pid" 2>/dev/null); do
      if ((r > max)); then max=$r; echo "$max" >"$peak"; fi
      sleep 0.2
    done
  ) &
  sampler=$!
  PIDS+=("$sampler")
  t0=$(cpu_ticks "$pid")
  "$fn" "$DURATION" "$@" >"$WORK/$key.out" 2>&1 || ok=0
  t1=$(cpu_ticks "$pid")
  R_RSS_END[$key]=$(rss_kb "$pid")
  stop_pid "$sampler"
  forget_pid "$sampler"
  R_RSS_PEAK[$key]=$(cat "$peak")

  local line
  line=$(grep '^BENCH ' "$WORK/$key.out" || true)
  if ((ok == 0)) || [[ -z $line ]]; then
    cat "$WORK/$key.out" >&2
    R_STATUS[$key]="failed: load generator"; SETUP_FAILED=1; return
  fi
  local requests duration_us p50 p99 non2xx sockerr starved
  read -r requests duration_us p50 p99 non2xx sockerr starved < <(sed 's/^BENCH //; s/[a-z0-9_]*=//g' <<<"$line")
  if ((requests == 0)); then R_STATUS[$key]="failed: no request completed"; SETUP_FAILED=1; return; fi
  R_RPS[$key]=$(awk -v n="$requests" -v d="$duration_us" 'BEGIN{printf "%.0f", n / (d / 1e6)}')
  R_P50[$key]=$p50
  R_P99[$key]=$p99
  R_CPU[$key]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
  R_NON2XX[$key]=$((non2xx + sockerr))
  R_STATUS[$key]=ok
  printf '   %s requests in %.1fs: %s req/s, p50 %s ms, p99 %s ms, server CPU %s us/request (%s s over the window), non-2xx %s, socket errors %s%s\n' \
    "$requests" "$(awk -v d="$duration_us" 'BEGIN{print d / 1e6}')" "${R_RPS[$key]}" \
    "$(awk -v u="$p50" 'BEGIN{printf "%.2f", u / 1000}')" "$(awk -v u="$p99" 'BEGIN{printf "%.2f", u / 1000}')" \
    "${R_CPU[$key]}" "$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t / hz}')" \
    "$non2xx" "$sockerr" "$( ((starved == 0)) || echo ", requests without a token: $starved")"
  if ((non2xx + sockerr > 0)); then
    loud "${LABEL[$key]}: $((non2xx + sockerr)) of $requests requests failed; its figures are not a clean measurement"
  fi
}

# --- build ---------------------------------------------------------------------
echo "== building release (platform, platform-baseline)"
cargo build --release -q -p platform-bootstrap --bin platform || die "release build of the platform failed"
cargo build --release -q -p platform-baseline || die "release build of platform-baseline failed"
BIN="$TARGET/release/platform"
BASELINE_BIN="$TARGET/release/platform-baseline"

PORT_BASE=$BASE_PORT
PORT_MEM=$((BASE_PORT + 1))
PORT_PG=$((BASE_PORT + 2))
for p in "$PORT_BASE" "$PORT_MEM" "$PORT_PG"; do
  ! port_busy "$p" || die "port $p on 127.0.0.1 is in use; set BENCH_PORT to another base"
done

if [[ $PIN == 1 ]]; then
  placement="servers pinned to CPU 0, the load generator ($TOOL, 1 thread) to CPU 1"
else
  placement="the load generator ($TOOL, $THREADS threads) runs on the same cores as the server"
fi
echo "== machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); $placement"
if COMMIT=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (with local changes)"
else
  COMMIT=unknown
fi
echo "== commit: $COMMIT, CLK_TCK=$CLK_TCK"

# start_platform NAME PORT LOG [VAR=VALUE...]: sets STARTED_PID (no command
# substitution: the server must stay this shell's child so it can be waited for).
start_platform() {
  local name=$1 port=$2 log=$3
  shift 3
  mkdir -p "$WORK/$name-mail" "$WORK/$name-blobs"
  env PLATFORM__SERVER__PORT="$port" \
    PLATFORM__ADMIN__EMAIL="$ADMIN_EMAIL" PLATFORM__ADMIN__PASSWORD="$ADMIN_PASSWORD" \
    PLATFORM__RATE_LIMIT__ENABLED=false \
    PLATFORM__LOGGING__LEVEL=info PLATFORM__LOGGING__FORMAT=json PLATFORM__LOGGING__OUTPUT="$log" \
    PLATFORM__MAIL__FILE__DIR="$WORK/$name-mail" PLATFORM__BLOB__LOCAL__ROOT="$WORK/$name-blobs" \
    "$@" "${SERVER_PIN[@]}" "$BIN" >"$WORK/$name.stdout" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

# create_post PORT ACCESS: creates and publishes the fixture post, prints its id.
create_post() {
  local port=$1 access=$2 out code id
  out=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/blog/posts" -H "authorization: Bearer $access" \
    -H 'content-type: application/json' -d "$POST_BODY" -w '\n%{http_code}')
  code=$(tail -n1 <<<"$out")
  if [[ $code != 201 && $code != 200 ]]; then
    echo "bench: POST /api/v1/blog/posts answered $code: $(head -n1 <<<"$out")" >&2
    return 1
  fi
  id=$(head -n1 <<<"$out" | json_field id)
  code=$(curl -s -o "$WORK/publish.out" -w '%{http_code}' -X POST \
    "http://127.0.0.1:$port/api/v1/blog/posts/$id/publish" -H "authorization: Bearer $access")
  if [[ $code != 200 ]]; then
    echo "bench: POST /api/v1/blog/posts/$id/publish answered $code: $(cat "$WORK/publish.out")" >&2
    return 1
  fi
  echo "$id"
}

# check_get PORT ID ACCESS: the GET answers 200 with a published post; prints its size.
check_get() {
  local out code
  out=$(curl -s "http://127.0.0.1:$1/api/v1/blog/posts/$2" -H "authorization: Bearer $3" -w '\n%{http_code} %{size_download}')
  code=$(tail -n1 <<<"$out" | cut -d' ' -f1)
  if [[ $code != 200 ]] || ! grep -q '"status":"published"' <<<"$out"; then
    echo "bench: GET /api/v1/blog/posts/$2 answered $code: $(head -n1 <<<"$out")" >&2
    return 1
  fi
  tail -n1 <<<"$out" | cut -d' ' -f2
}

# --- the baseline's fixture, which the platform's post copies ------------------
BASE_LOG="$WORK/baseline.log"
"${SERVER_PIN[@]}" "$BASELINE_BIN" "$PORT_BASE" >"$BASE_LOG" 2>&1 &
BASE_PID=$!
PIDS+=("$BASE_PID")
PROBE_ID=0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b
wait_up baseline "$BASE_PID" "http://127.0.0.1:$PORT_BASE/api/v1/blog/posts/$PROBE_ID" "$BASE_LOG" || exit 1
FIXTURE=$(curl -sf "http://127.0.0.1:$PORT_BASE/api/v1/blog/posts/$PROBE_ID") || die "the baseline does not answer"
POST_BODY="{\"title\":\"$(json_field title <<<"$FIXTURE")\",\"content\":\"$(json_field content <<<"$FIXTURE")\",\"tags\":$(grep -o '"tags":\[[^]]*\]' <<<"$FIXTURE" | cut -d: -f2)}"

# --- memory profile: set up the post, then measure the baseline and the platform
MEM_LOG="$WORK/platform-memory.log"
start_platform memory "$PORT_MEM" "$MEM_LOG"
MEM_PID=$STARTED_PID
wait_up "platform (memory)" "$MEM_PID" "http://127.0.0.1:$PORT_MEM/healthz" "$WORK/memory.stdout" || exit 1
sleep 1
MEM_RSS_IDLE=$(rss_kb "$MEM_PID")
BASE_RSS_IDLE=$(rss_kb "$BASE_PID")
echo "== platform (memory) up, pid $MEM_PID, idle RSS $(mib "$MEM_RSS_IDLE") MiB (baseline: $(mib "$BASE_RSS_IDLE") MiB)"

MEM_ACCESS=$(login access_token "$PORT_MEM") || die "admin login on the memory profile failed"
[[ -n $MEM_ACCESS ]] || die "admin login on the memory profile returned no access token"
MEM_POST=""
if MEM_POST=$(create_post "$PORT_MEM" "$MEM_ACCESS") && MEM_SIZE=$(check_get "$PORT_MEM" "$MEM_POST" "$MEM_ACCESS"); then
  BASE_SIZE=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PORT_BASE/api/v1/blog/posts/$MEM_POST")
  echo "== post $MEM_POST published; response body: platform $MEM_SIZE bytes, baseline $BASE_SIZE bytes"
  GET_PATH="/api/v1/blog/posts/$MEM_POST"
else
  loud "the blog routes do not work on this build: the GET phases cannot run (setup failure)"
  MEM_POST=""
  GET_PATH="/api/v1/blog/posts/$PROBE_ID"
  SETUP_FAILED=1
fi

# The baseline gets the same path and the same authorization header (it ignores it)
# so both servers parse the same request bytes.
static_lua "$WORK/get-mem.lua" GET "" "$MEM_ACCESS"
measure base "$BASE_PID" "" load_static "$WORK/get-mem.lua" GET "http://127.0.0.1:$PORT_BASE$GET_PATH" "" "$MEM_ACCESS"
stop_pid "$BASE_PID"
forget_pid "$BASE_PID"

if [[ -n $MEM_POST ]]; then
  measure mem_get "$MEM_PID" "" load_static "$WORK/get-mem.lua" GET "http://127.0.0.1:$PORT_MEM$GET_PATH" "" "$MEM_ACCESS"
else
  R_STATUS[mem_get]="failed: blog routes unavailable"
fi

REFRESH_TOKENS="$WORK/refresh-tokens"
prep_refresh() {
  local i t
  : >"$REFRESH_TOKENS"
  # One session per connection, plus one spare per wrk thread (see refresh.lua).
  for i in $(seq 1 $((CONNS + THREADS))); do
    t=$(login refresh_token "$PORT_MEM") && [[ -n $t ]] || { echo "bench: login for a refresh chain failed" >&2; return 1; }
    echo "$t" >>"$REFRESH_TOKENS"
  done
}
if [[ $TOOL == wrk ]]; then
  R_NOTE[refresh]="wrk: one login per connection, then each response's refresh token feeds the next request"
else
  R_NOTE[refresh]="oha cannot chain tokens: sequential curl calls, one at a time (not comparable to the others)"
fi
echo "== refresh method: ${R_NOTE[refresh]}"
measure refresh "$MEM_PID" prep_refresh load_refresh "$REFRESH_TOKENS" "http://127.0.0.1:$PORT_MEM/api/v1/auth/refresh"

LOGIN_BODY="{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}"
static_lua "$WORK/login.lua" POST "$LOGIN_BODY" ""
measure login "$MEM_PID" "" load_static "$WORK/login.lua" POST "http://127.0.0.1:$PORT_MEM/api/v1/auth/login" "$LOGIN_BODY" ""

MEM_RSS_END=$(rss_kb "$MEM_PID")
MEM_LOG_LINES=$(wc -l <"$MEM_LOG" 2>/dev/null || echo 0)
MEM_LOG_MB=$(du -m "$MEM_LOG" 2>/dev/null | cut -f1 || echo 0)
stop_pid "$MEM_PID"
forget_pid "$MEM_PID"

# --- postgres + redis profile --------------------------------------------------
PG_RSS_IDLE=""
pg_reason=""
if ! command -v psql >/dev/null; then
  pg_reason="psql is not installed"
elif ! psql -q "$PG_URL/postgres" -c 'select 1' >/dev/null 2>&1; then
  pg_reason="PostgreSQL is unreachable at $PG_URL"
elif ! command -v redis-cli >/dev/null; then
  pg_reason="redis-cli is not installed"
elif [[ $(redis-cli -u "$REDIS_URL" ping 2>/dev/null) != PONG ]]; then
  pg_reason="Redis is unreachable at $REDIS_URL"
fi
if [[ -n $pg_reason ]]; then
  loud "SKIPPING the postgres + redis profile: $pg_reason"
  R_STATUS[pg_get]="skipped: $pg_reason"
elif [[ -z $MEM_POST ]]; then
  R_STATUS[pg_get]="failed: blog routes unavailable"
else
  suffix="$(date +%s)$$"
  PG_DB="platform_bench_$suffix"
  REDIS_NS="bench-$suffix"
  psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null || die "could not create database $PG_DB"
  PG_LOG="$WORK/platform-postgres.log"
  start_platform postgres "$PORT_PG" "$PG_LOG" \
    PLATFORM__DATABASE__DRIVER=postgres PLATFORM__DATABASE__DSN="$PG_URL/$PG_DB" \
    PLATFORM__CACHE__DRIVER=redis PLATFORM__CACHE__NAMESPACE="$REDIS_NS" PLATFORM__REDIS__URL="$REDIS_URL"
  PG_PID=$STARTED_PID
  wait_up "platform (postgres)" "$PG_PID" "http://127.0.0.1:$PORT_PG/healthz" "$WORK/postgres.stdout" || exit 1
  sleep 1
  PG_RSS_IDLE=$(rss_kb "$PG_PID")
  echo "== platform (postgres + redis, database $PG_DB, namespace $REDIS_NS) up, pid $PG_PID, idle RSS $(mib "$PG_RSS_IDLE") MiB"
  PG_ACCESS=$(login access_token "$PORT_PG") && [[ -n $PG_ACCESS ]] || die "admin login on the postgres profile failed"
  if PG_POST=$(create_post "$PORT_PG" "$PG_ACCESS") && PG_SIZE=$(check_get "$PORT_PG" "$PG_POST" "$PG_ACCESS"); then
    echo "== post $PG_POST published; response body $PG_SIZE bytes"
    static_lua "$WORK/get-pg.lua" GET "" "$PG_ACCESS"
    measure pg_get "$PG_PID" "" load_static "$WORK/get-pg.lua" GET "http://127.0.0.1:$PORT_PG/api/v1/blog/posts/$PG_POST" "" "$PG_ACCESS"
  else
    R_STATUS[pg_get]="failed: blog routes unavailable"
    SETUP_FAILED=1
  fi
  stop_pid "$PG_PID"
  forget_pid "$PG_PID"
fi

# --- the table -------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN{printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0) printf "-"; else if (a / b < 0.1) printf "%.4f", a / b; else printf "%.2f", a / b }'; }
rss_of() { if [[ -n ${2:-} ]]; then echo "$(mib "$2") MiB"; else echo "n/a ($1)"; fi; }
base_ok=0
[[ ${R_STATUS[base]:-} == ok ]] && base_ok=1

echo
echo "== results: $placement, $CONNS connections, ${DURATION}s measured after ${WARMUP}s warm-up"
printf '%-30s %9s %9s %9s %12s %9s %9s %8s %10s\n' phase "req/s" "p50 ms" "p99 ms" "CPU us/req" "rps/base" "CPU/base" "failed" "RSS MiB"
for key in "${PHASES[@]}"; do
  status=${R_STATUS[$key]:-not run}
  if [[ $status != ok ]]; then
    printf '%-30s %s\n' "${LABEL[$key]}" "$status"
    continue
  fi
  rr="-" cr="-"
  if [[ $key != base && $base_ok == 1 ]]; then
    rr=$(ratio "${R_RPS[$key]}" "${R_RPS[base]}")
    cr=$(ratio "${R_CPU[$key]}" "${R_CPU[base]}")
  fi
  printf '%-30s %9s %9s %9s %12s %9s %9s %8s %10s\n' "${LABEL[$key]}" "${R_RPS[$key]}" "$(ms "${R_P50[$key]}")" \
    "$(ms "${R_P99[$key]}")" "${R_CPU[$key]}" "$rr" "$cr" "${R_NON2XX[$key]}" "$(mib "${R_RSS_PEAK[$key]}")"
done
echo "(RSS MiB: the server's peak VmRSS sampled during the measured window; failed: non-2xx + socket errors)"
echo "refresh method: ${R_NOTE[refresh]}"
echo
echo "platform RSS, memory profile: idle after start-up $(mib "$MEM_RSS_IDLE") MiB;" \
  "GET load: peak $(rss_of "GET not run" "${R_RSS_PEAK[mem_get]:-}"), at its end $(rss_of "GET not run" "${R_RSS_END[mem_get]:-}");" \
  "after refresh and login load $(mib "$MEM_RSS_END") MiB"
[[ -z $PG_RSS_IDLE ]] || echo "platform RSS, postgres + redis: idle after start-up $(mib "$PG_RSS_IDLE") MiB;" \
  "GET load: peak $(rss_of "GET not run" "${R_RSS_PEAK[pg_get]:-}"), at its end $(rss_of "GET not run" "${R_RSS_END[pg_get]:-}")"
echo "baseline RSS: idle $(mib "$BASE_RSS_IDLE") MiB; under load (peak) $(rss_of "not run" "${R_RSS_PEAK[base]:-}")"
echo "access log (memory profile, info, json, to a file): $MEM_LOG_LINES lines, ${MEM_LOG_MB} MB"

echo
echo "targets, authenticated + authorized GET on the memory profile (reported, not asserted):"
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'; }
if [[ $base_ok == 1 && ${R_STATUS[mem_get]:-} == ok ]]; then
  rr=$(ratio "${R_RPS[mem_get]}" "${R_RPS[base]}")
  cr=$(ratio "${R_CPU[mem_get]}" "${R_CPU[base]}")
  echo "  requests/s vs baseline   >= 0.75   $rr   $(verdict "$rr" '>=' 0.75)"
  echo "  CPU/request vs baseline  <= 1.35   $cr   $(verdict "$cr" '<=' 1.35)"
else
  echo "  requests/s and CPU/request: not measured (${R_STATUS[mem_get]:-not run})"
fi
idle_mib=$(mib "$MEM_RSS_IDLE")
echo "  idle RSS                 <= 15 MiB $idle_mib $(verdict "$idle_mib" '<=' 15)"

if ((SETUP_FAILED)); then
  echo
  echo "bench: some phases could not be set up (see above); exiting 1" >&2
  exit 1
fi
