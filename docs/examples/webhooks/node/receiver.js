// A merchant's webhook receiver for the verifier's events, with the Standard Webhooks library.
//
//     npm install standardwebhooks@1.3.0
//     WEBHOOK_SECRET=whsec_... node receiver.js
//
// Environment:
//   WEBHOOK_SECRET          the verifier's [merchant_webhooks] secret (whsec_...), required
//   PORT                    port to listen on, 127.0.0.1 (default 4242; 0: any free port)
//   RECORD_FILE             optional: one JSON line appended per event handled
//   VERIFIER_URL, MERCHANT_SECRET_KEY
//                           optional: read the checkout back (GET /v1/checkouts/{id}) before
//                           acting on checkout.succeeded, as the integration guide asks
//
// It answers 400 when the signature (or timestamp) does not verify, 2xx once an event is
// verified and handled, and 2xx again without handling it twice when the same event (same
// webhook-id) comes back: the verifier retries until it gets a 2xx, with the same webhook-id.
// Library: https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries/javascript
// Needs Node 18 or later (fetch).

"use strict";

const fs = require("node:fs");
const http = require("node:http");
const { Webhook, WebhookVerificationError } = require("standardwebhooks");

const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const { RECORD_FILE, VERIFIER_URL, MERCHANT_SECRET_KEY } = process.env;

// Event ids already handled. A real shop keeps them in its database, written in the same
// transaction as the order's change, so that a retry after a crash is still recognised.
const handled = new Set();

// The checkout as the verifier has it now: the proof of payment, not the webhook.
async function readBack(checkoutId) {
  const answer = await fetch(`${VERIFIER_URL}/v1/checkouts/${checkoutId}`, {
    headers: { Authorization: `Bearer ${MERCHANT_SECRET_KEY}` },
  });
  if (!answer.ok) throw new Error(`GET /v1/checkouts/${checkoutId}: ${answer.status}`);
  return answer.json();
}

// What the shop does with an event; returns what is recorded.
async function handle(eventId, event) {
  // Every event but `verifier.test` (sent by `verifier webhooks test`, `data` empty) is about
  // a checkout.
  const checkout = event.data?.checkout ?? {};
  const record = { id: eventId, type: event.type, checkout: checkout.id ?? null, status: checkout.status ?? null };
  if (event.type === "checkout.succeeded" && VERIFIER_URL && MERCHANT_SECRET_KEY) {
    // Ship only when the verifier itself says the checkout is paid.
    record.verified_status = (await readBack(checkout.id)).status;
  }
  return record;
}

function answer(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") return answer(res, 405, { error: "POST only" });
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    // The raw body, exactly as sent: the signature covers these bytes.
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = webhook.verify(body, req.headers);
    } catch (error) {
      // A wrong signature or timestamp (WebhookVerificationError), or a body that is not JSON.
      const why = error instanceof WebhookVerificationError ? "invalid signature" : "invalid body";
      console.log(`refused: ${why}: ${error.message}`);
      return answer(res, 400, { error: why });
    }
    const eventId = req.headers["webhook-id"];
    if (handled.has(eventId)) {
      console.log(`${eventId} ${event.type}: already handled`);
      return answer(res, 200, { received: true, duplicate: true });
    }
    let record;
    try {
      record = await handle(eventId, event);
    } catch (error) {
      // Not handled: a 5xx makes the verifier send it again.
      console.log(`${eventId} ${event.type}: not handled (${error.message})`);
      return answer(res, 500, { error: "not handled, send it again" });
    }
    if (handled.has(eventId)) return answer(res, 200, { received: true, duplicate: true });
    handled.add(eventId);
    if (RECORD_FILE) fs.appendFileSync(RECORD_FILE, `${JSON.stringify(record)}\n`);
    console.log(`${eventId} ${event.type}: handled ${JSON.stringify(record)}`);
    answer(res, 200, { received: true });
  });
});

server.listen(Number(process.env.PORT ?? 4242), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
process.on("SIGINT", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
