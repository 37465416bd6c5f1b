"""A merchant's webhook receiver for the verifier's events, with the Standard Webhooks library.

    pip install standardwebhooks==1.1.0
    WEBHOOK_SECRET=whsec_... python3 receiver.py

Environment:
  WEBHOOK_SECRET          the verifier's [merchant_webhooks] secret (whsec_...), required
  PORT                    port to listen on, 127.0.0.1 (default 4242; 0: any free port)
  RECORD_FILE             optional: one JSON line appended per event handled
  VERIFIER_URL, MERCHANT_SECRET_KEY
                          optional: read the checkout back (GET /v1/checkouts/{id}) before
                          acting on checkout.succeeded, as the integration guide asks

It answers 400 when the signature (or timestamp) does not verify, 2xx once an event is verified
and handled, and 2xx again without handling it twice when the same event (same webhook-id)
comes back: the verifier retries until it gets a 2xx, with the same webhook-id every time.
Library: https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries/python
"""

import json
import os
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

WEBHOOK = Webhook(os.environ["WEBHOOK_SECRET"])
RECORD_FILE = os.environ.get("RECORD_FILE")
VERIFIER_URL = os.environ.get("VERIFIER_URL")
MERCHANT_SECRET_KEY = os.environ.get("MERCHANT_SECRET_KEY")

# Event ids already handled. A real shop keeps them in its database, written in the same
# transaction as the order's change, so that a retry after a crash is still recognised.
handled = set()
lock = threading.Lock()


def read_back(checkout_id):
    """The checkout as the verifier has it now: the proof of payment, not the webhook."""
    request = urllib.request.Request(
        f"{VERIFIER_URL}/v1/checkouts/{checkout_id}",
        headers={"Authorization": f"Bearer {MERCHANT_SECRET_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def handle(event_id, event):
    """What the shop does with an event; returns what is recorded."""
    # Every event but `verifier.test` (sent by `verifier webhooks test`, `data` empty) is about
    # a checkout.
    checkout = event.get("data", {}).get("checkout", {})
    record = {"id": event_id, "type": event["type"], "checkout": checkout.get("id"), "status": checkout.get("status")}
    if event["type"] == "checkout.succeeded" and VERIFIER_URL and MERCHANT_SECRET_KEY:
        # Ship only when the verifier itself says the checkout is paid.
        record["verified_status"] = read_back(checkout["id"])["status"]
    return record


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        # The raw body, exactly as sent: the signature covers these bytes.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = WEBHOOK.verify(body, headers)
        except WebhookVerificationError as error:
            print(f"refused: invalid signature: {error}", flush=True)
            return self.answer(400, {"error": "invalid signature"})
        except ValueError as error:  # signed, but not JSON
            print(f"refused: invalid body: {error}", flush=True)
            return self.answer(400, {"error": "invalid body"})
        event_id = headers["webhook-id"]
        with lock:
            if event_id in handled:
                print(f"{event_id} {event['type']}: already handled", flush=True)
                return self.answer(200, {"received": True, "duplicate": True})
            try:
                record = handle(event_id, event)
            except Exception as error:  # not handled: a 5xx makes the verifier send it again
                print(f"{event_id} {event['type']}: not handled ({error})", flush=True)
                return self.answer(500, {"error": "not handled, send it again"})
            handled.add(event_id)
            if RECORD_FILE:
                with open(RECORD_FILE, "a") as f:
                    f.write(json.dumps(record) + "\n")
        print(f"{event_id} {event['type']}: handled {json.dumps(record)}", flush=True)
        self.answer(200, {"received": True})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4242"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
