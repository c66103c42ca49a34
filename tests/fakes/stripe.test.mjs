// Self-test of the Stripe fake: `node --test tests/fakes/stripe.test.mjs`. It checks the fake
// against shared/apis/stripe/ (key lists and vectors copied below, so nothing outside the
// repository is read) and against Stripe's own Node SDK: its webhook verification accepts the
// fake's deliveries, and the SDK as an API client talks to the fake.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import {
  API_VERSION, SPEC, addInterval, nestPairs, parsePairs, signatureHeader, signPayload,
} from './stripe.mjs';

const KEY = 'sk_test_selfTest0123456789';
const SECRET = 'whsec_selfTestSecret';
const script = fileURLToPath(new URL('./stripe.mjs', import.meta.url));
const stripe = new Stripe('sk_test_unused', { apiVersion: API_VERSION });
let child;
let base;
let receiver;
let hook;
const received = [];
let hookStatus = 200;

before(async () => {
  child = spawn(process.execPath, [script], {
    env: { ...process.env, FAKE_STRIPE_KEY: KEY, FAKE_STRIPE_PRICES: 'price_monthly:month,price_yearly:year:19900' },
  });
  const [chunk] = await once(child.stdout, 'data');
  const match = /^listening (\d+)/.exec(chunk.toString());
  assert.ok(match, `unexpected first line: ${chunk}`);
  base = `http://127.0.0.1:${match[1]}`;
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks), path: req.url });
      res.writeHead(hookStatus, { 'content-type': 'application/json' });
      res.end('{"received":true}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  hook = `http://127.0.0.1:${receiver.address().port}/api/stripe/webhook`;
});
after(() => { child.kill('SIGTERM'); receiver.close(); });

// Key lists of shared/apis/stripe/fixtures/2023-08-16.json and events/2023-08-16/ (the
// subscription line of an invoice has subscription_item instead of invoice_item).
const SHAPES = {
  customer: ['id', 'object', 'address', 'balance', 'created', 'currency', 'default_source', 'delinquent',
    'description', 'discount', 'email', 'invoice_prefix', 'invoice_settings', 'livemode', 'metadata', 'name',
    'next_invoice_sequence', 'phone', 'preferred_locales', 'shipping', 'tax_exempt', 'test_clock'],
  price: ['id', 'object', 'active', 'billing_scheme', 'created', 'currency', 'custom_unit_amount', 'livemode',
    'lookup_key', 'metadata', 'nickname', 'product', 'recurring', 'tax_behavior', 'tiers_mode',
    'transform_quantity', 'type', 'unit_amount', 'unit_amount_decimal'],
  product: ['id', 'object', 'active', 'created', 'default_price', 'description', 'features', 'images',
    'livemode', 'metadata', 'name', 'package_dimensions', 'shippable', 'statement_descriptor', 'tax_code',
    'unit_label', 'updated', 'url'],
  'billing_portal.session': ['id', 'object', 'configuration', 'created', 'customer', 'flow', 'livemode',
    'locale', 'on_behalf_of', 'return_url', 'url'],
  event: ['id', 'object', 'api_version', 'created', 'data', 'livemode', 'pending_webhooks', 'request', 'type'],
  'checkout.session': ['id', 'object', 'after_expiration', 'allow_promotion_codes', 'amount_subtotal',
    'amount_total', 'automatic_tax', 'billing_address_collection', 'cancel_url', 'client_reference_id',
    'consent', 'consent_collection', 'created', 'currency', 'currency_conversion', 'custom_fields',
    'custom_text', 'customer', 'customer_creation', 'customer_details', 'customer_email', 'expires_at',
    'invoice', 'invoice_creation', 'livemode', 'locale', 'metadata', 'mode', 'payment_intent', 'payment_link',
    'payment_method_collection', 'payment_method_options', 'payment_method_types', 'payment_status',
    'phone_number_collection', 'recovered_from', 'setup_intent', 'shipping_address_collection',
    'shipping_cost', 'shipping_details', 'shipping_options', 'status', 'submit_type', 'subscription',
    'success_url', 'total_details', 'url'],
  subscription: ['id', 'object', 'application', 'application_fee_percent', 'automatic_tax',
    'billing_cycle_anchor', 'billing_thresholds', 'cancel_at', 'cancel_at_period_end', 'canceled_at',
    'cancellation_details', 'collection_method', 'created', 'currency', 'current_period_end',
    'current_period_start', 'customer', 'days_until_due', 'default_payment_method', 'default_source',
    'default_tax_rates', 'description', 'discount', 'ended_at', 'items', 'latest_invoice', 'livemode',
    'metadata', 'next_pending_invoice_item_invoice', 'on_behalf_of', 'pause_collection', 'payment_settings',
    'pending_invoice_item_interval', 'pending_setup_intent', 'pending_update', 'schedule', 'start_date',
    'status', 'test_clock', 'transfer_data', 'trial_end', 'trial_settings', 'trial_start'],
  subscription_item: ['id', 'object', 'billing_thresholds', 'created', 'metadata', 'price', 'quantity',
    'subscription', 'tax_rates'],
  invoice: ['id', 'object', 'account_country', 'account_name', 'account_tax_ids', 'amount_due', 'amount_paid',
    'amount_remaining', 'amount_shipping', 'application', 'application_fee_amount', 'attempt_count',
    'attempted', 'auto_advance', 'automatic_tax', 'billing_reason', 'charge', 'collection_method', 'created',
    'currency', 'custom_fields', 'customer', 'customer_address', 'customer_email', 'customer_name',
    'customer_phone', 'customer_shipping', 'customer_tax_exempt', 'customer_tax_ids',
    'default_payment_method', 'default_source', 'default_tax_rates', 'description', 'discount', 'discounts',
    'due_date', 'effective_at', 'ending_balance', 'footer', 'from_invoice', 'hosted_invoice_url',
    'invoice_pdf', 'last_finalization_error', 'latest_revision', 'lines', 'livemode', 'metadata',
    'next_payment_attempt', 'number', 'on_behalf_of', 'paid', 'paid_out_of_band', 'payment_intent',
    'payment_settings', 'period_end', 'period_start', 'post_payment_credit_notes_amount',
    'pre_payment_credit_notes_amount', 'quote', 'receipt_number', 'rendering_options', 'shipping_cost',
    'shipping_details', 'starting_balance', 'statement_descriptor', 'status', 'status_transitions',
    'subscription', 'subscription_details', 'subtotal', 'subtotal_excluding_tax', 'tax', 'test_clock',
    'total', 'total_discount_amounts', 'total_excluding_tax', 'total_tax_amounts', 'transfer_data',
    'webhooks_delivered_at'],
  line_item: ['id', 'object', 'amount', 'amount_excluding_tax', 'currency', 'description', 'discount_amounts',
    'discountable', 'discounts', 'livemode', 'metadata', 'period', 'price', 'proration', 'proration_details',
    'quantity', 'subscription', 'subscription_item', 'tax_amounts', 'tax_rates', 'type',
    'unit_amount_excluding_tax'],
  item: ['id', 'object', 'amount_discount', 'amount_subtotal', 'amount_tax', 'amount_total', 'currency',
    'description', 'price', 'quantity'],
};

function assertShape(object, kind = object.object) {
  assert.deepEqual(Object.keys(object), SHAPES[kind], `keys of ${kind}`);
  if (kind === 'subscription') {
    assertShape(object.items.data[0], 'subscription_item');
    assertShape(object.items.data[0].price, 'price');
  }
  if (kind === 'invoice') {
    assertShape(object.lines.data[0], 'line_item');
    assertShape(object.lines.data[0].price, 'price');
  }
}

const form = (fields) => fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

async function api(method, path, fields = [], { key = KEY, idempotencyKey, version, headers = {} } = {}) {
  const h = { ...headers };
  if (key !== null) h.authorization = `Bearer ${key}`;
  if (idempotencyKey) h['idempotency-key'] = idempotencyKey;
  if (version) h['stripe-version'] = version;
  let url = base + path;
  let body;
  if (method === 'GET') {
    if (fields.length) url += `?${form(fields)}`;
  } else if (fields.length) {
    h['content-type'] ??= 'application/x-www-form-urlencoded';
    body = form(fields);
  }
  const res = await fetch(url, { method, headers: h, body });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function control(path, body) {
  const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

async function reset() {
  await control('/__reset', {});
  received.length = 0;
  hookStatus = 200;
}

function verified(delivery, secret = SECRET) {
  // Stripe's SDK, as Parley's original server used it (construct_event): raw bytes, header, secret.
  return stripe.webhooks.constructEvent(delivery.raw, delivery.headers['stripe-signature'], secret);
}

async function customerAndSession(extra = []) {
  const customer = (await api('POST', '/v1/customers', [['email', 'ada@example.com'], ['metadata[user_id]', '7']])).body;
  const session = await api('POST', '/v1/checkout/sessions', [
    ['mode', 'subscription'], ['customer', customer.id], ['line_items[0][price]', 'price_monthly'],
    ['line_items[0][quantity]', '1'], ['client_reference_id', '7'],
    ['success_url', 'https://parley.example/billing/success?session_id={CHECKOUT_SESSION_ID}'],
    ['cancel_url', 'https://parley.example/billing/cancel'], ['metadata[user_id]', '7'],
    ['subscription_data[metadata][user_id]', '7'], ...extra,
  ]);
  assert.equal(session.status, 200, JSON.stringify(session.body));
  return { customer, session: session.body };
}

// --- WEBHOOK-SIGNATURE.md ----------------------------------------------------------------------

test('the worked vector and the further cases of WEBHOOK-SIGNATURE.md reproduce', () => {
  const secret = 'whsec_parleyTestSecret0123456789abcdef';
  const t = 1767225660;
  const body = '{"id":"evt_test_webhook","object":"event","type":"checkout.session.completed"}';
  assert.equal(Buffer.byteLength(body), 78);
  const v1 = '201c1429b331b61be0095f832c87caf90c65601a31f2a68215649f9f638c3b84';
  assert.equal(signPayload(secret, t, body), v1);
  assert.equal(signatureHeader(secret, t, body), `t=${t},v1=${v1}`);
  assert.equal(signatureHeader([secret], t, body), `t=${t},v1=${v1}`);
  assert.equal(signatureHeader(secret, t, body), stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: t }));
  assert.equal(signPayload(secret, t, `${body}\n`), 'd278959d82117ede9b7cb175d930f72eeea56164e2027f0ed1c733a3eff1b70c');
  const rotation = signatureHeader(['whsec_parleyOldSecretfedcba9876543210', secret], t, body);
  assert.equal(rotation, `t=${t},v1=3afcec94b86e303a80092954ae164a3bc0767af465a378f433441fe435c40f7b,v1=${v1}`);
  const utf8 = '{"id":"evt_test_utf8","object":"event","type":"customer.updated","data":{"object":{"name":"Zoë 张"}}}';
  assert.equal(Buffer.byteLength(utf8), 103);
  assert.equal(signPayload(secret, t, utf8), '05aa7dd5581e892523945b60754fd7637dca4cf6f743463532ad87d5ef1bb77e');
  assert.equal(signPayload(secret, t, Buffer.from(utf8)), signPayload(secret, t, utf8));

  // The SDK agrees, "now" injected as in the document's cases (receivedAt is in milliseconds).
  const verify = (header, payload, now) => stripe.webhooks.constructEvent(payload, header, secret, 300, undefined, now * 1000);
  assert.equal(verify(`t=${t},v1=${v1}`, body, t).id, 'evt_test_webhook');
  assert.equal(verify(rotation, body, t).id, 'evt_test_webhook');
  assert.equal(verify(`t=${t},v0=deadbeef,v1=${v1}`, body, t).id, 'evt_test_webhook');
  assert.equal(verify(`t=${t},v1=${v1}`, body, t + 300).id, 'evt_test_webhook');
  assert.throws(() => verify(`t=${t},v1=${v1}`, body, t + 301), /Timestamp outside the tolerance zone/);
  assert.throws(() => verify(`t=${t},v1=${v1}`, `${body}\n`, t), /No signatures found matching/);
  assert.throws(() => verify(`t=${t},v0=${v1}`, body, t), /No signatures found with expected scheme/);
  assert.throws(() => verify(`v1=${v1}`, body, t), /Unable to extract timestamp and signatures/);
  assert.equal(verify(signatureHeader(secret, t, utf8), utf8, t).data.object.name, 'Zoë 张');
});

// --- Form encoding --------------------------------------------------------------------------------

test('nested form keys are read as Stripe (Rack) reads them', () => {
  const pairs = parsePairs('line_items%5B0%5D%5Bprice%5D=price_monthly&line_items[0][quantity]=1&' +
      'metadata[user_id]=42&metadata[note]=a+b%20c%26d&expand[]=subscription&expand%5B%5D=customer&' +
      'x[][a]=1&x[][b]=2&x[][a]=3&name=first&name=last&empty=');
  assert.deepEqual(pairs.slice(0, 4), [['line_items[0][price]', 'price_monthly'], ['line_items[0][quantity]', '1'],
    ['metadata[user_id]', '42'], ['metadata[note]', 'a b c&d']]);
  assert.deepEqual(nestPairs(pairs), {
    line_items: { 0: { price: 'price_monthly', quantity: '1' } },
    metadata: { user_id: '42', note: 'a b c&d' },
    expand: ['subscription', 'customer'],
    x: [{ a: '1', b: '2' }, { a: '3' }],
    name: 'last',
    empty: '',
  });
  assert.throws(() => nestPairs([['a', '1'], ['a[b]', '2']]), /Invalid hash/);
  assert.throws(() => parsePairs('a=%E0%A4%A'), URIError);
  assert.deepEqual(parsePairs(''), []);
});

test('the spec knows every parameter Parley sends', () => {
  const body = (op) => SPEC[op].params.properties;
  assert.equal(SPEC['POST /v1/checkout/sessions'].operationId, 'PostCheckoutSessions');
  for (const k of ['email', 'name', 'metadata', 'expand']) assert.ok(body('POST /v1/customers')[k], k);
  const checkout = body('POST /v1/checkout/sessions');
  for (const k of ['mode', 'customer', 'line_items', 'client_reference_id', 'success_url', 'cancel_url', 'metadata', 'subscription_data', 'expand']) {
    assert.ok(checkout[k], k);
  }
  assert.ok(checkout.line_items.items.properties.price && checkout.line_items.items.properties.quantity);
  assert.ok(checkout.subscription_data.properties.metadata);
  assert.deepEqual(SPEC['POST /v1/checkout/sessions'].params.required, ['success_url']);
  assert.ok(body('POST /v1/subscriptions/{subscription_exposed_id}').cancel_at_period_end);
  assert.deepEqual(SPEC['POST /v1/billing_portal/sessions'].params.required, ['customer']);
  assert.ok(body('POST /v1/billing_portal/sessions').return_url);
  assert.ok(body('GET /v1/checkout/sessions/{session}').expand);
  assert.equal(SPEC['GET /v1/checkout/sessions/{session}'].path.session.maxLength, 66);
});

test('the recorded request shows the decoded fields and the nested parameters', async () => {
  await reset();
  const r = await api('POST', '/v1/customers', [['email', 'a+b@example.com'], ['name', 'Zoë 张'], ['metadata[user_id]', '42']]);
  assert.equal(r.status, 200);
  const [recorded] = await control('/__requests');
  assert.equal(recorded.method, 'POST');
  assert.equal(recorded.path, '/v1/customers');
  assert.equal(recorded.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(recorded.body, 'email=a%2Bb%40example.com&name=Zo%C3%AB%20%E5%BC%A0&metadata%5Buser_id%5D=42');
  assert.deepEqual(recorded.fields, [['email', 'a+b@example.com'], ['name', 'Zoë 张'], ['metadata[user_id]', '42']]);
  assert.deepEqual(recorded.params, { email: 'a+b@example.com', name: 'Zoë 张', metadata: { user_id: '42' } });
  assert.equal(typeof recorded.received_at, 'number');
  assertShape(r.body);
  assert.match(r.body.id, /^cus_[A-Za-z0-9]{14}$/);
  assert.deepEqual(r.body.metadata, { user_id: '42' });
  assert.equal(r.body.name, 'Zoë 张');
  const got = await api('GET', `/v1/customers/${r.body.id}`);
  assert.deepEqual(got.body, r.body);
});

// --- Authentication, versions, errors -----------------------------------------------------------

test('a missing or wrong key is a 401 in Stripe\'s error shape, the key masked', async () => {
  await reset();
  let r = await api('POST', '/v1/customers', [['email', 'a@example.com']], { key: null });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.type, 'invalid_request_error');
  assert.match(r.body.error.message, /You did not provide an API key/);
  assert.equal(r.headers.get('www-authenticate'), 'Basic realm="Stripe"');
  const wrong = 'sk_test_wrongWrongWrong9876';
  r = await api('GET', '/v1/customers/cus_x', [], { key: wrong });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.type, 'invalid_request_error');
  assert.equal(r.body.error.message, `Invalid API Key provided: sk_test_${'*'.repeat(wrong.length - 12)}9876`);
  assert.ok(!r.body.error.message.includes('wrongWrong'));
  // HTTP Basic with the key as the user name, as Stripe also accepts.
  const basic = await fetch(`${base}/v1/prices/price_monthly`, { headers: { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}` } });
  assert.equal(basic.status, 200);
});

test('Stripe-Version: 2023-08-16 is echoed, another version is refused', async () => {
  await reset();
  let r = await api('GET', '/v1/prices/price_monthly', [], { version: '2023-08-16' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('stripe-version'), '2023-08-16');
  assert.match(r.headers.get('request-id'), /^req_/);
  assertShape(r.body);
  assert.equal(r.body.recurring.interval, 'month');
  assert.equal(r.body.unit_amount, 2000);
  r = await api('GET', '/v1/prices/price_yearly', [['expand[]', 'product']]);
  assert.equal(r.body.unit_amount, 19900);
  assertShape(r.body.product);
  r = await api('GET', '/v1/prices/price_monthly', [], { version: '2026-07-29.dahlia' });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /2023-08-16 only/);
  r = await api('GET', '/v1/prices/price_monthly', [], { version: 'yesterday' });
  assert.equal(r.body.error.message, 'Invalid Stripe API version: yesterday');
  r = await api('GET', '/v1/prices/price_nope');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'resource_missing');
  r = await api('GET', '/v1/nothing');
  assert.equal(r.status, 404);
  assert.match(r.body.error.message, /Unrecognized request URL \(GET: \/v1\/nothing\)/);
  r = await api('GET', '/v1/prices', [['recurring[interval]', 'year']]);
  assert.deepEqual(r.body.data.map((p) => p.id), ['price_yearly']);
});

test('parameters are checked against the spec', async () => {
  await reset();
  const { customer } = await customerAndSession();
  const good = [['mode', 'subscription'], ['customer', customer.id], ['line_items[0][price]', 'price_monthly'],
    ['line_items[0][quantity]', '1'], ['success_url', 'https://parley.example/ok']];
  const without = (name) => good.filter(([k]) => k !== name);
  const cases = [
    [[...good, ['colour', 'red']], 'parameter_unknown', 'colour', 'Received unknown parameter: colour'],
    [[...good, ['subscription_data[colour]', 'red']], 'parameter_unknown', 'subscription_data[colour]'],
    [[...good, ['line_items[0][colour]', 'red']], 'parameter_unknown', 'line_items[0][colour]'],
    [without('success_url'), 'parameter_missing', 'success_url', 'Missing required param: success_url.'],
    [without('line_items[0][quantity]'), 'parameter_missing', 'line_items[0][quantity]'],
    [without('mode'), 'parameter_missing', 'mode'],
    [[...without('line_items[0][quantity]'), ['line_items[0][quantity]', 'one']], 'parameter_invalid_integer', 'line_items[0][quantity]'],
    [[...without('mode'), ['mode', 'rental']], undefined, 'mode', 'Invalid mode: must be one of payment, setup, or subscription'],
    [[...good, ['client_reference_id', 'x'.repeat(201)]], undefined, 'client_reference_id'],
    [[...good, ['allow_promotion_codes', 'yes']], undefined, 'allow_promotion_codes', 'Invalid boolean: yes'],
    [[...good, ['cancel_url', '']], 'parameter_invalid_empty', 'cancel_url'],
    [[...good, ['metadata', 'flat']], undefined, 'metadata'],
    [[...good, ['customer_email', 'a@example.com']], 'parameters_exclusive', 'customer'],
    [[...without('line_items[0][price]'), ['line_items[0][price]', 'price_gold']], 'resource_missing', 'line_items[0][price]', "No such price: 'price_gold'"],
    [[...without('customer'), ['customer', 'cus_missing']], 'resource_missing', 'customer', "No such customer: 'cus_missing'"],
    [[...good, ['subscription_data[trial_period_days]', '7']], 'fake_unsupported_parameter', 'subscription_data[trial_period_days]'],
  ];
  for (const [fields, code, param, message] of cases) {
    const r = await api('POST', '/v1/checkout/sessions', fields);
    const what = JSON.stringify(r.body);
    assert.equal(r.status, 400, what);
    assert.equal(r.body.error.type, 'invalid_request_error', what);
    assert.equal(r.body.error.code, code, what);
    assert.equal(r.body.error.param, param, what);
    if (message) assert.equal(r.body.error.message, message);
  }
  let r = await api('POST', '/v1/customers', [['email', '']]);
  assert.equal(r.body.error.code, 'parameter_invalid_empty');
  assert.match(r.body.error.message, /You passed an empty string for 'email'/);
  r = await api('POST', '/v1/customers', [['metadata[user_id]', 'x'.repeat(501)]]);
  assert.equal(r.body.error.param, 'metadata[user_id]');
  r = await api('GET', `/v1/customers/${customer.id}`, [['expand[]', 'nope']]);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, 'This property cannot be expanded (nope).');
  r = await api('GET', `/v1/customers/${customer.id}`, [['limit', '3']]);
  assert.equal(r.body.error.code, 'parameter_unknown');
  r = await api('POST', '/v1/customers', [], { headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200, 'no body, no content type needed');
  const json = await fetch(`${base}/v1/customers`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"email":"a@example.com"}' });
  assert.equal(json.status, 400);
  assert.match((await json.json()).error.message, /unsupported Content-Type application\/json/);
  // Nothing above created a session.
  const requests = await control('/__requests');
  assert.ok(requests.every((q) => q.method !== 'POST' || q.path !== '/v1/checkout/sessions' || q.fields.length > 0));
});

// --- Idempotency --------------------------------------------------------------------------------

test('the same Idempotency-Key and parameters replay; other parameters are an idempotency_error', async () => {
  await reset();
  const fields = [['email', 'ada@example.com'], ['metadata[user_id]', '7']];
  const first = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-1' });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  assert.equal(first.headers.get('idempotency-key'), 'key-1');
  // The same parameters in another order are the same parameters.
  const again = await api('POST', '/v1/customers', [...fields].reverse(), { idempotencyKey: 'key-1' });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.headers.get('request-id'), first.headers.get('request-id'));
  assert.deepEqual(again.body, first.body);
  const other = await api('POST', '/v1/customers', [['email', 'bob@example.com']], { idempotencyKey: 'key-1' });
  assert.equal(other.status, 400);
  assert.equal(other.body.error.type, 'idempotency_error');
  assert.match(other.body.error.message, /same parameters they were first used with.*key-1/);
  const elsewhere = await api('POST', '/v1/billing_portal/sessions', [['customer', first.body.id]], { idempotencyKey: 'key-1' });
  assert.equal(elsewhere.body.error.type, 'idempotency_error');
  const long = await api('POST', '/v1/customers', fields, { idempotencyKey: 'k'.repeat(256) });
  assert.equal(long.status, 400);
  // GET ignores the header.
  const get = await api('GET', `/v1/customers/${first.body.id}`, [], { idempotencyKey: 'key-1' });
  assert.equal(get.status, 200);
});

test('failures before the endpoint ran are not saved: a retry with the same key executes', async () => {
  await reset();
  // Validation error first, then the corrected request with the same key.
  let r = await api('POST', '/v1/customers', [['emali', 'a@example.com']], { idempotencyKey: 'key-2' });
  assert.equal(r.status, 400);
  r = await api('POST', '/v1/customers', [['email', 'a@example.com']], { idempotencyKey: 'key-2' });
  assert.equal(r.status, 200);
  // Scripted 500 and 429 (with Retry-After), then success, then a replay of that success.
  await control('/__script', { responses: [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }] });
  const fields = [['email', 'b@example.com']];
  r = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-3' });
  assert.equal(r.status, 500);
  assert.equal(r.body.error.type, 'api_error');
  r = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-3' });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal(r.body.error.code, 'rate_limit');
  const ok = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-3' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('idempotent-replayed'), null);
  const replay = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-3' });
  assert.equal(replay.body.id, ok.body.id);
  // An endpoint error (it ran) is saved and replayed.
  r = await api('POST', '/v1/billing_portal/sessions', [['customer', 'cus_nobody']], { idempotencyKey: 'key-4' });
  assert.equal(r.body.error.code, 'resource_missing');
  r = await api('POST', '/v1/billing_portal/sessions', [['customer', 'cus_nobody']], { idempotencyKey: 'key-4' });
  assert.equal(r.headers.get('idempotent-replayed'), 'true');
  // A dropped connection is a network error for the client; the retry executes.
  await control('/__script', { responses: [{ drop: true }] });
  await assert.rejects(api('POST', '/v1/customers', fields, { idempotencyKey: 'key-5' }));
  r = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-5' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('idempotent-replayed'), null);
});

test('a request still executing holds its key: 409, then the finished result replays', async () => {
  await reset();
  await control('/__script', { responses: [{ delay_ms: 400 }] });
  const fields = [['email', 'slow@example.com']];
  const slow = api('POST', '/v1/customers', fields, { idempotencyKey: 'key-6' });
  await new Promise((r) => setTimeout(r, 100));
  const busy = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-6' });
  assert.equal(busy.status, 409);
  assert.equal(busy.body.error.type, 'idempotency_error');
  const done = await slow;
  assert.equal(done.status, 200);
  const replay = await api('POST', '/v1/customers', fields, { idempotencyKey: 'key-6' });
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.body.id, done.body.id);
});

// --- The subscription flow and webhooks ---------------------------------------------------------

test('checkout: session, payment, three signed events in order, expanded subscription', async () => {
  await reset();
  await control('/__clock', { now: 1767225600 });  // 2026-01-01T00:00:00Z
  await control('/__webhook', { url: hook, secret: SECRET });
  const { customer, session } = await customerAndSession();
  assertShape(session);
  assert.match(session.id, /^cs_test_[A-Za-z0-9]{58}$/);
  assert.equal(session.status, 'open');
  assert.equal(session.payment_status, 'unpaid');
  assert.equal(session.subscription, null);
  assert.equal(session.customer, customer.id);
  assert.equal(session.client_reference_id, '7');
  assert.equal(session.mode, 'subscription');
  assert.equal(session.created, 1767225600);
  assert.equal(session.expires_at, 1767225600 + 86400);
  assert.deepEqual(session.metadata, { user_id: '7' });
  assert.equal(session.url, `${base}/c/pay/${session.id}`);
  assert.equal(session.amount_total, 2000);
  const open = await api('GET', `/v1/checkout/sessions/${session.id}`, [['expand[]', 'subscription']]);
  assert.equal(open.body.subscription, null);

  const done = await control('/__checkout/complete', { session: session.id });
  assert.deepEqual(done.events.map((e) => [e.type, e.status]), [
    ['checkout.session.completed', 200], ['customer.subscription.created', 200], ['invoice.paid', 200]]);
  assert.equal(received.length, 3);
  const events = received.map((d) => verified(d));
  assert.deepEqual(events.map((e) => e.type), ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid']);
  for (const [i, d] of received.entries()) {
    assert.equal(d.path, '/api/stripe/webhook');
    assert.equal(d.headers['content-type'], 'application/json; charset=utf-8');
    assert.match(d.headers['stripe-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.match(d.raw.toString(), /^\{\n {2}"id": "evt_/, 'pretty-printed as Stripe sends it');
    assertShape(events[i], 'event');
    assert.match(events[i].id, /^evt_[A-Za-z0-9]{24}$/);
    assert.equal(events[i].api_version, '2023-08-16');
    assert.equal(events[i].livemode, false);
    assert.equal(events[i].pending_webhooks, 1);
    assert.deepEqual(events[i].request, { id: null, idempotency_key: null });
  }
  const [completed, created, paid] = events.map((e) => e.data.object);
  assertShape(completed);
  assert.equal(completed.status, 'complete');
  assert.equal(completed.payment_status, 'paid');
  assert.equal(completed.client_reference_id, '7');
  assert.equal(completed.customer, customer.id);
  assert.equal(completed.url, null);
  assertShape(created);
  assert.match(created.id, /^sub_[A-Za-z0-9]{24}$/);
  assert.equal(completed.subscription, created.id);
  assert.equal(created.status, 'active');
  assert.equal(created.customer, customer.id);
  assert.equal(created.current_period_start, 1767225600);
  assert.equal(created.current_period_end, 1769904000, '2026-02-01T00:00:00Z');
  assert.equal(created.cancel_at_period_end, false);
  assert.deepEqual(created.metadata, { user_id: '7' });
  assert.equal(created.items.data[0].price.id, 'price_monthly');
  assertShape(paid);
  assert.equal(paid.subscription, created.id);
  assert.equal(paid.paid, true);
  assert.equal(paid.status, 'paid');
  assert.equal(paid.billing_reason, 'subscription_create');
  assert.equal(created.latest_invoice, paid.id);

  const expanded = await api('GET', `/v1/checkout/sessions/${session.id}`, [['expand[]', 'subscription'], ['expand[]', 'line_items']]);
  assert.equal(expanded.status, 200);
  assertShape(expanded.body.subscription);
  assert.equal(expanded.body.subscription.id, created.id);
  assertShape(expanded.body.line_items.data[0], 'item');
  const sub = await api('GET', `/v1/subscriptions/${created.id}`, [['expand[]', 'latest_invoice'], ['expand[]', 'customer']]);
  assert.equal(sub.body.latest_invoice.id, paid.id);
  assert.equal(sub.body.customer.id, customer.id);
  const list = await api('GET', '/v1/subscriptions', [['customer', customer.id]]);
  assert.deepEqual(list.body.data.map((s) => s.id), [created.id]);

  const log = await control('/__events');
  assert.deepEqual(log.map((e) => [e.type, e.status, e.delivered]), [
    ['checkout.session.completed', 200, true], ['customer.subscription.created', 200, true], ['invoice.paid', 200, true]]);
  assert.equal(log[1].object_id, created.id);
  // Completing twice is refused.
  const again = await fetch(`${base}/__checkout/complete`, { method: 'POST', body: JSON.stringify({ session: session.id }) });
  assert.equal(again.status, 400);
});

test('out-of-order and missed deliveries, resend, Parley\'s status recorded', async () => {
  await reset();
  await control('/__webhook', { url: hook, secret: SECRET });
  const { session } = await customerAndSession();
  hookStatus = 500;
  const done = await control('/__checkout/complete', { session: session.id, order: ['invoice.paid', 'checkout.session.completed'] });
  assert.deepEqual(done.events.map((e) => [e.type, e.status]), [['invoice.paid', 500], ['checkout.session.completed', 500]]);
  let log = await control('/__events');
  const created = log.find((e) => e.type === 'customer.subscription.created');
  assert.equal(created.deliveries.length, 0);
  assert.equal(created.status, null);
  hookStatus = 200;
  const resent = await control(`/__events/${created.id}/resend`, {});
  assert.deepEqual([resent.id, resent.status], [created.id, 200]);
  const paidId = log.find((e) => e.type === 'invoice.paid').id;
  await control(`/__events/${paidId}/resend`, {});
  assert.equal(received.length, 4);
  assert.equal(verified(received[3]).id, paidId);
  assert.deepEqual(received[3].raw, received[0].raw, 'the same bytes');
  log = await control('/__events');
  const paid = log.find((e) => e.id === paidId);
  assert.deepEqual(paid.deliveries.map((d) => d.status), [500, 200]);
  assert.equal(paid.delivered, true);
  assert.equal(paid.status, 200);
});

test('secret rotation sends one v1 per secret; a timestamp offset makes stale signatures', async () => {
  await reset();
  await control('/__webhook', { url: hook, secret: ['whsec_old', SECRET] });
  const { session } = await customerAndSession();
  await control('/__checkout/complete', { session: session.id, order: ['checkout.session.completed'] });
  assert.match(received[0].headers['stripe-signature'], /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  verified(received[0], 'whsec_old');
  verified(received[0], SECRET);
  await control('/__webhook', { url: hook, secret: SECRET, timestamp_offset_s: -400 });
  const [record] = await control('/__events');
  await control(`/__events/${record.id}/resend`, {});
  assert.throws(() => verified(received[1]), /Timestamp outside the tolerance zone/);
});

test('cancel at period end, then the period ends: updated, then deleted', async () => {
  await reset();
  await control('/__clock', { now: 1769817600 });  // 2026-01-31T00:00:00Z
  await control('/__webhook', { url: hook, secret: SECRET });
  const { session } = await customerAndSession();
  const { subscription } = await control('/__checkout/complete', { session: session.id });
  assert.equal(subscription.current_period_end, 1772236800, 'a month from Jan 31 is Feb 28');
  received.length = 0;
  const r = await api('POST', `/v1/subscriptions/${subscription.id}`, [['cancel_at_period_end', 'true']], { idempotencyKey: 'cancel-1' });
  assert.equal(r.status, 200);
  assert.equal(r.body.cancel_at_period_end, true);
  assert.equal(r.body.cancel_at, subscription.current_period_end);
  assert.equal(r.body.canceled_at, 1769817600);
  assert.equal(r.body.status, 'active');
  await control('/__events?settle=1');
  const updated = verified(received.at(-1));
  assert.equal(updated.type, 'customer.subscription.updated');
  assert.deepEqual(updated.data.previous_attributes, {
    cancel_at: null, cancel_at_period_end: false, canceled_at: null, cancellation_details: { reason: null },
  });
  assert.equal(updated.request.idempotency_key, 'cancel-1');
  assert.equal(updated.request.id, r.headers.get('request-id'));
  // Setting the same value again changes nothing and sends nothing.
  await api('POST', `/v1/subscriptions/${subscription.id}`, [['cancel_at_period_end', 'true']]);
  await control('/__events?settle=1');
  assert.equal(received.length, 1);
  const advanced = await control(`/__subscriptions/${subscription.id}/advance`, { to: 'period_end' });
  assert.deepEqual(advanced.events.map((e) => e.type), ['customer.subscription.deleted']);
  const deleted = verified(received.at(-1)).data.object;
  assert.equal(deleted.status, 'canceled');
  assert.equal(deleted.ended_at, subscription.current_period_end);
  const now = await control('/__clock', { now: 1772236800 });
  assert.equal(now.now, 1772236800);
  const gone = await api('POST', `/v1/subscriptions/${subscription.id}`, [['cancel_at_period_end', 'false']]);
  assert.equal(gone.status, 400);
  assert.match(gone.body.error.message, /canceled subscription can only update/);
  assert.deepEqual((await api('GET', '/v1/subscriptions', [['status', 'ended']])).body.data.map((s) => s.id), [subscription.id]);
  assert.deepEqual((await api('GET', '/v1/subscriptions')).body.data, []);
});

test('renewals: paid, failed (past_due), retried; a yearly price renews a year later', async () => {
  await reset();
  await control('/__clock', { now: 1767225600 });
  await control('/__webhook', { url: hook, secret: SECRET });
  const { session } = await customerAndSession();
  const { subscription } = await control('/__checkout/complete', { session: session.id });
  let r = await control(`/__subscriptions/${subscription.id}/advance`, {});
  assert.deepEqual(r.events.map((e) => e.type), ['customer.subscription.updated', 'invoice.paid']);
  assert.equal(r.subscription.current_period_start, 1769904000);
  assert.equal(r.subscription.current_period_end, 1772323200, '2026-03-01');
  assert.equal(r.invoice.billing_reason, 'subscription_cycle');
  assert.deepEqual(verified(received.at(-2)).data.previous_attributes.current_period_end, 1769904000);
  r = await control(`/__subscriptions/${subscription.id}/advance`, { fail_payment: true });
  assert.deepEqual(r.events.map((e) => e.type), ['customer.subscription.updated', 'invoice.payment_failed', 'customer.subscription.updated']);
  assert.equal(r.subscription.status, 'past_due');
  assert.equal(r.invoice.status, 'open');
  assert.equal(r.invoice.paid, false);
  assertShape(verified(received.at(-2)).data.object, 'invoice');
  assert.deepEqual(verified(received.at(-1)).data.previous_attributes, { status: 'active' });
  r = await control(`/__subscriptions/${subscription.id}/advance`, { to: 'retry', fail_payment: true });
  assert.deepEqual(r.events.map((e) => e.type), ['invoice.payment_failed']);
  assert.equal(r.invoice.attempt_count, 2);
  r = await control(`/__subscriptions/${subscription.id}/advance`, { to: 'retry' });
  assert.deepEqual(r.events.map((e) => e.type), ['invoice.paid', 'customer.subscription.updated']);
  assert.equal(r.subscription.status, 'active');
  assert.equal(r.invoice.status, 'paid');

  const yearly = await api('POST', '/v1/checkout/sessions', [['mode', 'subscription'], ['customer_email', 'y@example.com'],
    ['line_items[0][price]', 'price_yearly'], ['line_items[0][quantity]', '1'], ['success_url', 'https://parley.example/ok']]);
  const start = (await control('/__clock', { now: 1770000000 })).now;
  const y = await control('/__checkout/complete', { session: yearly.body.id });
  assert.equal(y.subscription.current_period_end, addInterval(start, 'year', 1));
  assert.equal(y.subscription.current_period_end - start, 365 * 86400);
  assert.match(y.subscription.customer, /^cus_/, 'Checkout made the customer');
});

test('DELETE cancels at once and sends customer.subscription.deleted', async () => {
  await reset();
  await control('/__webhook', { url: hook, secret: SECRET });
  const { session } = await customerAndSession();
  const { subscription } = await control('/__checkout/complete', { session: session.id });
  received.length = 0;
  const r = await api('DELETE', `/v1/subscriptions/${subscription.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'canceled');
  assert.equal(r.body.ended_at, r.body.canceled_at);
  await control('/__events?settle=1');
  assert.deepEqual(received.map((d) => verified(d).type), ['customer.subscription.deleted']);
  const missing = await api('GET', '/v1/subscriptions/sub_nothing');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'resource_missing');
  assert.equal(missing.body.error.message, "No such subscription: 'sub_nothing'");
  assert.equal(missing.body.error.param, 'id');
});

test('billing portal sessions', async () => {
  await reset();
  const { customer } = await customerAndSession();
  let r = await api('POST', '/v1/billing_portal/sessions', [['customer', customer.id], ['return_url', 'https://parley.example/account']]);
  assert.equal(r.status, 200);
  assertShape(r.body);
  assert.match(r.body.id, /^bps_[A-Za-z0-9]{24}$/);
  assert.match(r.body.configuration, /^bpc_/);
  assert.equal(r.body.customer, customer.id);
  assert.equal(r.body.return_url, 'https://parley.example/account');
  const page = await fetch(r.body.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /parley\.example\/account/);
  r = await api('POST', '/v1/billing_portal/sessions', [['return_url', 'https://parley.example/account']]);
  assert.equal(r.body.error.code, 'parameter_missing');
  r = await api('POST', '/v1/billing_portal/sessions', [['customer', 'cus_nobody']]);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'resource_missing');
  assert.equal(r.body.error.param, 'customer');
});

test('the checkout page pays and redirects to success_url', async () => {
  await reset();
  const { session } = await customerAndSession();
  const page = await fetch(session.url);
  assert.match(await page.text(), /\$20\.00 \/ month/);
  const paid = await fetch(session.url, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 303);
  assert.equal(paid.headers.get('location'), `https://parley.example/billing/success?session_id=${session.id}`);
  const after = await api('GET', `/v1/checkout/sessions/${session.id}`);
  assert.equal(after.body.status, 'complete');
});

// --- Stripe's own SDK as the client --------------------------------------------------------------

test('the official stripe SDK talks to the fake', async () => {
  await reset();
  const url = new URL(base);
  const sdk = new Stripe(KEY, { apiVersion: API_VERSION, host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 1 });
  const customer = await sdk.customers.create({ email: 'sdk@example.com', name: 'S D K', metadata: { user_id: '99' } });
  assert.match(customer.id, /^cus_/);
  const session = await sdk.checkout.sessions.create({
    mode: 'subscription', customer: customer.id, line_items: [{ price: 'price_monthly', quantity: 1 }],
    client_reference_id: '99', success_url: 'https://parley.example/ok', cancel_url: 'https://parley.example/no',
    subscription_data: { metadata: { user_id: '99' } }, metadata: { user_id: '99' },
  });
  assert.equal(session.status, 'open');
  await control('/__checkout/complete', { session: session.id });
  const fetched = await sdk.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
  assert.equal(fetched.subscription.status, 'active');
  assert.deepEqual(fetched.subscription.metadata, { user_id: '99' });
  const updated = await sdk.subscriptions.update(fetched.subscription.id, { cancel_at_period_end: true });
  assert.equal(updated.cancel_at_period_end, true);
  const portal = await sdk.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://parley.example/a' });
  assert.match(portal.url, /\/p\/session\/test_/);
  const canceled = await sdk.subscriptions.cancel(fetched.subscription.id);
  assert.equal(canceled.status, 'canceled');
  await assert.rejects(sdk.customers.create({ emale: 'x' }), (e) => e.type === 'StripeInvalidRequestError' &&
      e.code === 'parameter_unknown' && e.param === 'emale');
  await assert.rejects(sdk.subscriptions.retrieve('sub_nothing'), (e) => e.statusCode === 404 && e.code === 'resource_missing');
  const wrong = new Stripe('sk_test_nope00000000', { apiVersion: API_VERSION, host: url.hostname, port: Number(url.port), protocol: 'http' });
  await assert.rejects(wrong.customers.retrieve(customer.id), (e) => e.type === 'StripeAuthenticationError');
  // What the SDK sent: the version header, its own idempotency keys, Stripe's form encoding.
  const requests = await control('/__requests');
  const create = requests.find((q) => q.path === '/v1/checkout/sessions' && q.method === 'POST');
  assert.equal(create.headers['stripe-version'], API_VERSION);
  assert.ok(create.headers['idempotency-key']);
  assert.equal(create.params.line_items[0].price, 'price_monthly');
  assert.equal(create.params.subscription_data.metadata.user_id, '99');
});
