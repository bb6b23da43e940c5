#!/usr/bin/env bash
# Shared helpers for the per-server scripts in this folder. Each script
# installs its server (pinned) into the CI cache, starts it on its own
# loopback port when it is not answering, and waits until it does. They are
# idempotent: run twice, the second run only checks.
#
# PLATFORM_CI_CACHE (default ~/.cache/platform-ci) holds virtualenvs,
# binaries, data folders, PID files and logs; nothing goes into the repo.

CACHE="${PLATFORM_CI_CACHE:-$HOME/.cache/platform-ci}"
mkdir -p "$CACHE/run" "$CACHE/log"

svc_fail() {
  echo "services: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "services: continuing (not CI): tests that need it will say they skipped" >&2
  return 1
}

# svc_port_open PORT: whether something accepts TCP connections on 127.0.0.1:PORT.
svc_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# svc_wait_port PORT SECONDS: waits until the port accepts connections.
svc_wait_port() {
  local port=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    svc_port_open "$port" && return 0
    sleep 0.1
  done
  return 1
}

# svc_venv NAME PIP-SPEC...: a virtualenv under the cache with the pinned
# packages installed (reinstalled only when the spec changes). Prints its path.
svc_venv() {
  local name=$1; shift
  local dir="$CACHE/venv-$name" stamp
  stamp=$(printf '%s\n' "$@")
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.spec" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir" >&2 || return 1
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2 || return 1
    printf '%s' "$stamp" > "$dir/.spec"
  fi
  printf '%s' "$dir"
}

# svc_start NAME PORT COMMAND...: starts COMMAND in the background (logging to
# the cache), records its PID, and waits for PORT.
svc_start() {
  local name=$1 port=$2; shift 2
  nohup "$@" >"$CACHE/log/$name.log" 2>&1 &
  echo $! > "$CACHE/run/$name.pid"
  if svc_wait_port "$port" 60; then
    echo "services: $name ready on 127.0.0.1:$port"
  else
    tail -n 20 "$CACHE/log/$name.log" >&2
    svc_fail "$name did not come up on 127.0.0.1:$port"
  fi
}

# svc_stop NAME: stops what svc_start started.
svc_stop() {
  local pidfile="$CACHE/run/$1.pid"
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  rm -f "$pidfile"
}
