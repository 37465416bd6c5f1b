<?php
// A merchant's webhook receiver for the verifier's events, with the Standard Webhooks library.
//
//     composer install        # standard-webhooks/standard-webhooks, see composer.json
//     WEBHOOK_SECRET=whsec_... php -S 127.0.0.1:4242 receiver.php
//
// Environment:
//   WEBHOOK_SECRET          the verifier's [merchant_webhooks] secret (whsec_...), required
//   STATE_DIR               where the handled event ids are kept (default: the system's temp dir)
//   RECORD_FILE             optional: one JSON line appended per event handled
//   VERIFIER_URL, MERCHANT_SECRET_KEY
//                           optional: read the checkout back (GET /v1/checkouts/{id}) before
//                           acting on checkout.succeeded, as the integration guide asks
//
// It answers 400 when the signature (or timestamp) does not verify, 2xx once an event is
// verified and handled, and 2xx again without handling it twice when the same event (same
// webhook-id) comes back: the verifier retries until it gets a 2xx, with the same webhook-id.
// Library: https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries/php

require __DIR__ . '/vendor/autoload.php';

use StandardWebhooks\Exception\WebhookVerificationException;
use StandardWebhooks\Webhook;

function answer(int $status, array $body): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body);
}

// The checkout as the verifier has it now: the proof of payment, not the webhook.
function read_back(string $checkoutId): array
{
    $context = stream_context_create(['http' => [
        'header' => 'Authorization: Bearer ' . getenv('MERCHANT_SECRET_KEY'),
        'timeout' => 10,
    ]]);
    $body = file_get_contents(getenv('VERIFIER_URL') . '/v1/checkouts/' . rawurlencode($checkoutId), false, $context);
    if ($body === false) {
        throw new RuntimeException("GET /v1/checkouts/$checkoutId failed");
    }
    return json_decode($body, true, 512, JSON_THROW_ON_ERROR);
}

// What the shop does with an event; returns what is recorded.
function handle(string $eventId, array $event): array
{
    // Every event but `verifier.test` (sent by `verifier webhooks test`, `data` empty) is about
    // a checkout.
    $checkout = $event['data']['checkout'] ?? [];
    $record = ['id' => $eventId, 'type' => $event['type'], 'checkout' => $checkout['id'] ?? null, 'status' => $checkout['status'] ?? null];
    if ($event['type'] === 'checkout.succeeded' && getenv('VERIFIER_URL') && getenv('MERCHANT_SECRET_KEY')) {
        // Ship only when the verifier itself says the checkout is paid.
        $record['verified_status'] = read_back($checkout['id'])['status'];
    }
    return $record;
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    answer(405, ['error' => 'POST only']);
    return;
}
// The raw body, exactly as sent: the signature covers these bytes.
$body = file_get_contents('php://input');
// The library reads the headers by their lowercase names.
$headers = array_change_key_case(getallheaders(), CASE_LOWER);
try {
    $event = (new Webhook(getenv('WEBHOOK_SECRET')))->verify($body, $headers);
} catch (WebhookVerificationException $e) {
    error_log('refused: ' . $e->getMessage());
    answer(400, ['error' => 'invalid signature']);
    return;
}
$eventId = $headers['webhook-id'];

// Event ids already handled, one a line, under a lock: PHP runs each request on its own. A real
// shop keeps them in its database, written in the same transaction as the order's change.
$dir = getenv('STATE_DIR') ?: sys_get_temp_dir();
$lock = fopen("$dir/verifier-webhooks-handled.txt", 'c+');
flock($lock, LOCK_EX);
$handled = array_filter(explode("\n", stream_get_contents($lock)));
if (in_array($eventId, $handled, true)) {
    error_log("$eventId {$event['type']}: already handled");
    answer(200, ['received' => true, 'duplicate' => true]);
    return;
}
try {
    $record = handle($eventId, $event);
} catch (Throwable $e) {
    // Not handled: a 5xx makes the verifier send it again.
    error_log("$eventId {$event['type']}: not handled ({$e->getMessage()})");
    answer(500, ['error' => 'not handled, send it again']);
    return;
}
fseek($lock, 0, SEEK_END);
fwrite($lock, "$eventId\n");
if (getenv('RECORD_FILE')) {
    file_put_contents(getenv('RECORD_FILE'), json_encode($record) . "\n", FILE_APPEND | LOCK_EX);
}
error_log("$eventId {$event['type']}: handled " . json_encode($record));
answer(200, ['received' => true]);
