"""A webhook receiver that verifies both signatures an hmac delivery carries.

X-Webhook-Signature (sha256=<hex HMAC-SHA256 of the body>; during a secret
rotation also X-Webhook-Signature-Next) is checked with the standard library's
hmac, the Standard Webhooks headers webhook-id,
webhook-timestamp and webhook-signature with the standardwebhooks package. It
answers 204 when both verify and 401 otherwise, and prints one line per
request.

    WEBHOOK_SECRET='whsec_...' PORT=9000 python receiver.py

PORT 0 picks a free port; HOST (default 127.0.0.1) is the address to bind.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY = 1 << 20  # a delivery's body is at most a few hundred KiB


def signing_key(secret: str) -> bytes:
    """The HMAC key of both signatures: the decoded bytes of a
    "whsec_<base64>" secret, the UTF-8 bytes of any other."""
    if not secret:
        raise ValueError("WEBHOOK_SECRET is not set")
    if not secret.startswith("whsec_"):
        return secret.encode()
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except binascii.Error:
        key = b""
    if not key:
        raise ValueError("WEBHOOK_SECRET: a whsec_ secret must be followed by base64")
    return key


log = logging.getLogger("receiver")


class Receiver(BaseHTTPRequestHandler):
    timeout = 30  # seconds a connection may sit idle
    key: bytes  # the HMAC key of both signatures
    webhook: Webhook

    def do_POST(self):
        msg_id = self.headers.get("webhook-id") or "-"  # the delivery id: the same on every retry
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.answer(400, f"{msg_id}: bad Content-Length")
            return
        if not 0 <= length <= MAX_BODY:
            self.answer(413, f"{msg_id}: body of {length} bytes")
            return
        body = self.rfile.read(length)

        want = ("sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest()).encode()
        # During a secret rotation X-Webhook-Signature carries the old
        # secret's signature and X-Webhook-Signature-Next the new one's: a
        # receiver that checks both works with either secret.
        if not any(
            hmac.compare_digest(want, self.headers.get(name, "").encode())
            for name in ("X-Webhook-Signature", "X-Webhook-Signature-Next")
        ):
            self.answer(401, f"{msg_id}: X-Webhook-Signature does not match")
            return
        try:
            # Any matching v1 signature among several passes (a secret
            # rotation signs with both secrets); a webhook-timestamp over 5
            # minutes off fails.
            self.webhook.verify(body, dict(self.headers), json_parse=False)
        except (WebhookVerificationError, ValueError) as e:  # ValueError: a malformed header or body
            self.answer(401, f"{msg_id}: webhook-signature: {e}")
            return
        # Verified: the body is the service's. Handle it here, de-duplicating on msg_id.
        try:
            delivery = json.loads(body)
        except ValueError as e:
            self.answer(400, f"{msg_id}: body: {e}")
            return
        self.answer(204, f"{msg_id} {delivery['event']}: verified")

    do_PUT = do_PATCH = do_POST

    def answer(self, status: int, line: str):
        log.info("%d %s", status, line)
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass  # answer prints the one line per request


def main():
    try:
        key = signing_key(os.environ.get("WEBHOOK_SECRET", ""))
    except ValueError as e:
        sys.exit(f"receiver: {e}")
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    # Given bytes, Webhook takes them as the key; a str it would base64-decode,
    # which is right only for whsec_ secrets.
    Receiver.key, Receiver.webhook = key, Webhook(key)
    addr = (os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "9000")))
    server = ThreadingHTTPServer(addr, Receiver)
    host, port = server.server_address[:2]
    log.info("listening on http://%s:%d", host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
