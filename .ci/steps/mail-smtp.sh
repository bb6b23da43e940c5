#!/usr/bin/env bash
# The black-box suites again with mail.driver: smtp, sending to the capture
# server of .ci/services/smtp.sh on its plain port (STARTTLS and AUTH are
# covered by tests/tests/mail_smtp.rs). The harness reads each app's messages
# from the server's shared maildir by the envelope sender it gives that app
# (tests/src/mail/capture.rs). With CI=true a missing server is a failure;
# without it the step prints a loud SKIPPED.
#
# CI runs the suites that send mail (the others never reach the mailer, so a
# second run of them on smtp tells nothing new, and the workers suite alone
# takes minutes). Arguments replace that list: `.ci/steps/mail-smtp.sh` with
# `--tests --lib` runs every suite, as was done once for issue 15.
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${PLATFORM_TEST_SMTP_PORT:-12525}"
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  if [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; then
    echo "CI=true and the SMTP capture server is not on 127.0.0.1:$port" >&2; exit 1
  fi
  echo "*** SKIPPED: black-box suites on mail.driver smtp: no SMTP capture server on 127.0.0.1:$port (bash .ci/services/smtp.sh) ***" >&2
  exit 0
fi
suites=("$@")
if ((${#suites[@]} == 0)); then suites=(--lib --test security --test digest --test notify_channels); fi
echo "== black-box suites on mail.driver: smtp (capture server 127.0.0.1:$port, plain)"
PLATFORM_TEST__MAIL__DRIVER=smtp \
PLATFORM_TEST__MAIL__SMTP__HOST=127.0.0.1 \
PLATFORM_TEST__MAIL__SMTP__PORT="$port" \
PLATFORM_TEST__MAIL__SMTP__TLS=none \
  cargo test -p platform-tests "${suites[@]}"
