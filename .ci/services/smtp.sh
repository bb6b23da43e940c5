#!/usr/bin/env bash
# SMTP capture server (aiosmtpd) for the mail tests, from smtp_capture.py:
#   127.0.0.1:${PLATFORM_TEST_SMTP_PORT:-12525}           plain, no AUTH
#   127.0.0.1:${PLATFORM_TEST_SMTP_AUTH_PORT:-12587}      STARTTLS required, then AUTH PLAIN/LOGIN
#   127.0.0.1:${PLATFORM_TEST_SMTP_IMPLICIT_PORT:-12465}  implicit TLS, then AUTH
# Messages land in the maildir $CACHE/smtp/maildir (new/<key>, meta/<key>.json);
# the certificate is signed by a throwaway CA, $CACHE/smtp/ca.pem.
# `reject-*@` recipients get 550, `tempfail-*@` 451.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PORT="${PLATFORM_TEST_SMTP_PORT:-12525}"
AUTH_PORT="${PLATFORM_TEST_SMTP_AUTH_PORT:-12587}"
IMPLICIT_PORT="${PLATFORM_TEST_SMTP_IMPLICIT_PORT:-12465}"
DIR="$CACHE/smtp"
if svc_port_open "$PORT" && svc_port_open "$AUTH_PORT" && svc_port_open "$IMPLICIT_PORT"; then
  echo "services: smtp capture already on 127.0.0.1:$PORT/$AUTH_PORT/$IMPLICIT_PORT"; exit 0
fi
mkdir -p "$DIR/maildir"

# A CA and a server certificate it signs (rustls refuses a self-signed CA
# certificate used as the server's own), for localhost and 127.0.0.1.
if [ ! -s "$DIR/server.pem" ]; then
  command -v openssl >/dev/null 2>&1 || { svc_fail "openssl is needed to make the SMTP test certificate"; exit 0; }
  (
    cd "$DIR" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=platform test CA" \
      -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr &&
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem
  ) >"$CACHE/log/smtp-cert.log" 2>&1 || { cat "$CACHE/log/smtp-cert.log" >&2; svc_fail "cannot make the SMTP test certificate"; exit 0; }
fi

venv=$(svc_venv smtp 'aiosmtpd==1.4.6') || { svc_fail "cannot install aiosmtpd"; exit 0; }
svc_start smtp "$PORT" "$venv/bin/python" "$(cd "$(dirname "$0")" && pwd)/smtp_capture.py" \
  --plain-port "$PORT" --auth-port "$AUTH_PORT" --implicit-port "$IMPLICIT_PORT" \
  --maildir "$DIR/maildir" --cert "$DIR/server.pem" --key "$DIR/server.key" \
  --user "${PLATFORM_TEST_SMTP_USER:-platform}" --password "${PLATFORM_TEST_SMTP_PASSWORD:-platform-test-password}" || exit 0
svc_wait_port "$AUTH_PORT" 10 && svc_wait_port "$IMPLICIT_PORT" 10 || svc_fail "smtp capture: TLS listeners did not come up"
