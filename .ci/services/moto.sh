#!/usr/bin/env bash
# moto server: the AWS-compatible endpoint for Secrets Manager and SES v2
# tests (it accepts any SigV4 credentials). 127.0.0.1:${PLATFORM_TEST_MOTO_PORT:-15000}.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PORT="${PLATFORM_TEST_MOTO_PORT:-15000}"
if svc_port_open "$PORT"; then echo "services: moto already on 127.0.0.1:$PORT"; exit 0; fi
venv=$(svc_venv moto 'moto[server]==5.1.18') || { svc_fail "cannot install moto"; exit 0; }
svc_start moto "$PORT" "$venv/bin/moto_server" -H 127.0.0.1 -p "$PORT"
