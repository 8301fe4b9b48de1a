"""A real SMTP server for Herald's tests: aiosmtpd, storing every accepted message in a Maildir.

Usage: smtp_server.py MAILDIR [--delay SECONDS] [--tls-cert PEM --tls-key PEM]
Listens on 127.0.0.1 on a free port and prints "PORT <n>" once ready. Each stored message gets an
X-Envelope-To header with the RCPT TO addresses. --delay slows every DATA answer, so a test can
kill a client mid-edition. With --tls-cert and --tls-key the server offers STARTTLS with that
certificate and refuses mail until the client has started TLS.
"""

import argparse
import asyncio
import mailbox
import ssl
import sys

from aiosmtpd.smtp import SMTP


class MaildirHandler:
    def __init__(self, path, delay):
        self.mailbox = mailbox.Maildir(path, create=True)
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        header = (
            "X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n"
            + "X-Envelope-From: " + (envelope.mail_from or "") + "\r\n"
        )
        self.mailbox.add(header.encode() + envelope.original_content)
        return "250 2.0.0 OK: queued"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("maildir")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    handler = MaildirHandler(args.maildir, args.delay)
    tls = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        tls = {"tls_context": context, "require_starttls": True}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler, decode_data=False, enable_SMTPUTF8=True, data_size_limit=None, **tls
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
