#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the servers the integration
# tests talk to, when they are missing or stopped. Idempotent and quick when
# everything already runs. In CI (CI=true) a service that cannot be brought
# up fails the run.
set -uo pipefail

need_apt_update=1
apt_install() {
  if [ "$need_apt_update" = 1 ]; then
    apt-get update -qq >/dev/null && need_apt_update=0
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

fail() {
  echo "services: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "services: continuing (not CI): tests that need it will say they skipped" >&2
}

# --- PostgreSQL (127.0.0.1:5432, trust auth, database `test`)
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: installing postgresql"
  apt_install postgresql || fail "cannot install postgresql"
fi
if command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    echo "services: starting postgresql $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  # A fresh Debian install asks for a password on TCP; the tests connect as
  # `postgres` over loopback without one (the machine kind's own setup).
  if pg_isready -q -h 127.0.0.1 -p 5432 && ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
    hba=$(su postgres -c "psql -Atc 'SHOW hba_file'" 2>/dev/null)
    if [ -n "$hba" ] && [ -f "$hba" ]; then
      echo "services: allowing loopback connections without a password (test server only)"
      { printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat "$hba"; } > "$hba.new" && mv "$hba.new" "$hba"
      chown postgres:postgres "$hba" 2>/dev/null || true
      su postgres -c "psql -Atc 'SELECT pg_reload_conf()'" >/dev/null 2>&1 || true
      sleep 1
    fi
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    if ! psql -h 127.0.0.1 -U postgres -lqt 2>/dev/null | cut -d'|' -f1 | grep -qw test; then
      su postgres -c "createdb -h 127.0.0.1 test" 2>/dev/null || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test' >/dev/null 2>&1 || true
    fi
    echo "services: postgresql ready"
  else
    fail "postgresql is not accepting connections on 127.0.0.1:5432"
  fi
fi

# --- Redis (127.0.0.1:6379, nothing kept on disk)
if ! command -v redis-server >/dev/null 2>&1; then
  echo "services: installing redis-server"
  apt_install redis-server || fail "cannot install redis-server"
fi
if command -v redis-server >/dev/null 2>&1; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "services: starting redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir /tmp >/dev/null
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "services: redis ready"
  else
    fail "redis is not answering on 127.0.0.1:6379"
  fi
fi
# --- The other servers (broker, S3, secret stores, SMTP, AWS endpoint): one
# script each under .ci/services/, on their own loopback ports.
for script in "$(dirname "$0")"/services/*.sh; do
  [ "$(basename "$script")" = lib.sh ] && continue
  bash "$script" || exit 1
done
exit 0
