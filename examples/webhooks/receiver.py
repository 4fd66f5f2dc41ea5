"""A carrier's web service for the delivery-confirmation example.

Receives the node's signed webhook deliveries, verifies them, and answers a
``carrier.delivery`` callback request by confirming the delivery back to the node's
inbound endpoint (in a real service: once the parcel has been delivered).

    python examples/webhooks/receiver.py --listen 127.0.0.1:9000 \
        --secret-file receiver.secret --callback-url http://127.0.0.1:8600/callbacks/carrier \
        --callback-secret-file carrier.secret

Only the standard library is used, so the verification below is what any receiver,
in any language, has to do.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024


def signature_header(secret: bytes, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verified(secret: bytes, header: str | None, body: bytes) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is fresh."""
    try:
        fields = dict(part.split("=", 1) for part in (header or "").split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    expected = signature_header(secret, body, timestamp)
    return hmac.compare_digest(expected, header or "") and abs(time.time() - timestamp) <= TOLERANCE_SECONDS


def confirm(url: str, secret: bytes, escrow: str, order_id: int, request_id: str) -> None:
    """Call ``confirmDelivery(order_id)`` on the escrow through the node's inbound endpoint."""
    body = json.dumps({"id": f"request-{request_id}", "contract": escrow, "method": "confirmDelivery(uint256)",
                       "args": [str(order_id)]}).encode()
    headers = {"Content-Type": "application/json",
               "X-CMT-Signature": signature_header(secret, body, int(time.time()))}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as response:
            print(f"confirmed order {order_id}: {response.read().decode()}")
    except urllib.error.HTTPError as error:
        print(f"confirmation of order {order_id} refused ({error.code}): {error.read().decode()}")


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:9000")
    parser.add_argument("--secret-file", type=Path, required=True, help="the subscription's secret")
    parser.add_argument("--callback-url", required=True, help="the node's /callbacks/<caller> URL")
    parser.add_argument("--callback-secret-file", type=Path, required=True, help="this caller's secret")
    args = parser.parse_args()
    secret = args.secret_file.read_text().splitlines()[0].encode()
    callback_secret = args.callback_secret_file.read_text().splitlines()[0].encode()
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            if length > MAX_BODY_BYTES:
                self.send_response(413)
                self.end_headers()
                return
            body = self.rfile.read(length)
            if not verified(secret, self.headers.get("X-CMT-Signature"), body):
                self.send_response(401)
                self.end_headers()
                return
            self.send_response(200)  # acknowledge first: the node retries anything else
            self.end_headers()
            delivery = json.loads(body)
            if delivery["idempotencyKey"] in seen:  # a retry of a delivery already handled
                return
            seen.add(delivery["idempotencyKey"])
            callback = delivery.get("callback")
            if callback and callback["topic"] == "carrier.delivery":
                payload = bytes.fromhex(callback["payload"][2:])
                order_id = int.from_bytes(payload[:32], "big")  # abi.encode(orderId, trackingNumber)
                confirm(args.callback_url, callback_secret, callback["requester"], order_id, callback["requestId"])

    host, port = args.listen.rsplit(":", 1)
    print(f"receiving webhooks on http://{args.listen}/")
    HTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
