"""SMTP capture server for the mail tests (aiosmtpd).

Listeners, all on 127.0.0.1:
  --plain-port     plain text, no authentication (a local capture server);
  --auth-port      requires STARTTLS, then AUTH PLAIN or LOGIN;
  --implicit-port  TLS from the first byte (SMTPS), then AUTH.

Every accepted message is stored, byte for byte as received, in the maildir
given by --maildir (new/<key>); a JSON sidecar meta/<key>.json records the
envelope, the listener, whether TLS was on and who authenticated.

Recipients whose local part starts with `reject-` get a permanent
`550 5.1.1` reply at RCPT, `tempfail-` a transient `451 4.3.0`.
"""

import argparse
import json
import mailbox
import os
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, maildir, listener):
        for sub in ("tmp", "new", "cur", "meta"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.maildir = maildir
        self.listener = listener
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return f"550 5.1.1 <{address}>: mailbox unavailable (rejected by the test server)"
        if local.startswith("tempfail-"):
            return f"451 4.3.0 <{address}>: try again later (test server)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        meta = {
            "listener": self.listener,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        }
        with self.lock:
            key = mailbox.Maildir(self.maildir, create=False).add(envelope.original_content)
            with open(os.path.join(self.maildir, "meta", key + ".json"), "w") as out:
                json.dump(meta, out)
        return "250 2.0.0 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False lets aiosmtpd answer 535; handled=True would leave the client waiting.
        return AuthResult(success=False, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain-port", type=int, default=12525)
    parser.add_argument("--auth-port", type=int, default=12587)
    parser.add_argument("--implicit-port", type=int, default=12465)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", default="platform")
    parser.add_argument("--password", default="platform-test-password")
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    check = authenticator(args.user, args.password)
    common = dict(hostname="127.0.0.1", enable_SMTPUTF8=True)
    controllers = [
        Controller(Capture(args.maildir, "plain"), port=args.plain_port, **common),
        Controller(
            Capture(args.maildir, "starttls"),
            port=args.auth_port,
            tls_context=context,
            require_starttls=True,
            authenticator=check,
            auth_required=True,
            **common,
        ),
        Controller(
            Capture(args.maildir, "implicit"),
            port=args.implicit_port,
            ssl_context=context,
            authenticator=check,
            auth_required=True,
            auth_require_tls=False,
            **common,
        ),
    ]
    for controller in controllers:
        controller.start()
    print(f"smtp capture: plain {args.plain_port}, starttls+auth {args.auth_port}, "
          f"implicit tls+auth {args.implicit_port}, maildir {args.maildir}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
