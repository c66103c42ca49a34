// Payments end to end: the real server against the local Stripe fake (tests/fakes/stripe.mjs,
// written from Stripe's API description), webhooks signed as Stripe signs them (and by the
// official `stripe` package), and the plan's limits at each point of use: checkout → webhook →
// plan active → limits raised → cancel → period end → plan free.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { startParley, next, call } from '../realtime/harness.mjs';
import { startFake } from '../fake_services.mjs';
import { makeSpeech, uploadForm } from '../speech/speech_tools.mjs';

const SECRET = 'whsec_parleyE2eSecret0123456789abcdef';
const FREE_CHARS = 40;

let stripeFake;
let openai;
let elevenlabs;
let parley;
let work;
let speech;
let alice; let bob; let carol;
let room;

async function register(name) {
  const res = await parley.api('/api/register', {
    body: { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase' },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token, name };
}

const post = (user, path, body = {}) => parley.api(path, { token: user.token, body });
const control = (path, body) => fetch(stripeFake.base + path, {
  method: body === undefined ? 'GET' : 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
}).then((r) => r.json());
const translate = (user, text, target = 'es') => post(user, '/api/translate', { text, source: 'en', target });
const webhook = (body, headers) => fetch(`${parley.base}/api/stripe/webhook`, {
  method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body,
});

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-payments-e2e-'));
  speech = makeSpeech(work, ['good morning everyone']);
  stripeFake = await startFake('tests/fakes/stripe.mjs');
  openai = await startFake('tests/fakes/openai.mjs');
  elevenlabs = await startFake('tests/fakes/elevenlabs.mjs');
  parley = await startParley({
    STRIPE_SECRET_KEY: 'sk_test_parley',
    STRIPE_API_BASE: stripeFake.base,
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_PRICE_MONTHLY: 'price_monthly',
    STRIPE_PRICE_YEARLY: 'price_yearly',
    FRONTEND_URL: 'http://127.0.0.1:5173',
    PARLEY_FREE_TRANSLATED_CHARS_PER_DAY: String(FREE_CHARS),
    PARLEY_FREE_SPEECH_MINUTES_PER_DAY: '0',
    PARLEY_FREE_MAX_ROOM_MEMBERS: '2',
    // The cloud engine serves what Apertium does not (English to French): a paid feature.
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${openai.base}/v1`,
    // A provider voice clone is a paid feature; free users get the embedded approximation.
    ELEVENLABS_API_KEY: 'el-test',
    ELEVENLABS_BASE_URL: elevenlabs.base,
  });
  await control('/__webhook', { url: `${parley.base}/api/stripe/webhook`, secret: SECRET });
  alice = await register('alice');
  bob = await register('bob');
  carol = await register('carol');
  room = (await post(alice, '/api/create-chatroom', { name: 'paid room', is_private: false })).body.chatroom.id;
});
after(async () => {
  if (parley) assert.equal(await parley.stop(), 0);
  stripeFake?.stop();
  openai?.stop();
  elevenlabs?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a free account: its status and every limit at the boundary', async () => {
  const status = await post(alice, '/api/check-subscription-status');
  assert.equal(status.status, 200, JSON.stringify(status.body));
  assert.deepEqual([status.body.plan, status.body.status, status.body.is_subscribed], ['free', null, false]);
  assert.equal(status.body.limits.translated_chars_per_day, FREE_CHARS);
  assert.equal(status.body.limits.cloud_engines, false);

  // Translated characters: exactly the limit passes, one more does not (and costs nothing).
  assert.equal((await translate(alice, 'The house is big now')).status, 200);  // 20 characters
  assert.equal((await translate(alice, 'The cat is red today')).status, 200);  // 20: 40 in all
  const over = await translate(alice, 'Hi there');
  assert.equal(over.status, 402, JSON.stringify(over.body));
  assert.equal(over.body.error.code, 'quota_exceeded');
  assert.match(over.body.error.message, /40 translated characters/);
  assert.equal((await translate(alice, 'The house is big now')).status, 200, 'a cached translation is free');
  assert.equal((await post(alice, '/api/check-subscription-status')).body.usage.translated_chars, FREE_CHARS);

  // The cloud engine (a pair Apertium does not serve) is not in the free plan.
  const cloud = await translate(bob, 'Good morning', 'fr');
  assert.equal(cloud.status, 402);
  assert.match(cloud.body.error.message, /cloud engine/);

  // Speech recognition: no minutes on this free plan.
  const upload = await uploadForm(`${parley.base}/api/upload-audio`, alice.token, { room: String(room), language: 'en' },
    { name: 'audio', filename: 'hello.wav', type: 'audio/wav', data: readFileSync(speech.wav) });
  assert.equal(upload.status, 402, JSON.stringify(upload.body));
  assert.match(upload.body.error.message, /speech recognition/);

  // A live stream is refused at its start when no recognition is left today.
  const socket = parley.connect(alice.token);
  await next(socket, 'connect');
  assert.equal((await call(socket, 'join_room', { room })).ok, true);
  const refusedStream = await call(socket, 'audio_stream', { action: 'start', stream_id: 's1', room, codec: 'webm-opus', language: 'en' });
  assert.equal(refusedStream.error?.code, 'quota_exceeded', JSON.stringify(refusedStream));
  socket.disconnect();

  // Voice cloning with the provider: not in the free plan (the embedded approximation is).
  const voice = await uploadForm(`${parley.base}/api/voice-clone`, alice.token, { consent: 'true' },
    { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(voice.status, 201, JSON.stringify(voice.body));
  assert.equal(voice.body.mode, 'approximate');
  assert.equal((await elevenlabs.requests()).filter((r) => r.path.startsWith('/v1/voices/add')).length, 0);

  // Room size by the owner's plan: two members.
  assert.equal((await post(bob, '/api/join-chatroom', { chatroom_id: room })).status, 200);
  const full = await post(carol, '/api/join-chatroom', { chatroom_id: room });
  assert.equal(full.status, 402);
  assert.match(full.body.error.message, /full/);
});

test('checkout refusals: bad plan, guests, and no payment yet', async () => {
  assert.equal((await post(alice, '/api/create-checkout-session', { plan: 'lifetime' })).status, 422);
  assert.equal((await post(alice, '/api/create-checkout-session', {})).status, 422);
  const guest = await parley.api('/api/guest', { body: {} });
  assert.equal((await post({ token: guest.body.access_token }, '/api/create-checkout-session', { plan: 'monthly' })).status, 403);
  assert.equal((await parley.api('/api/create-checkout-session', { body: { plan: 'monthly' } })).status, 401);
  assert.equal((await post(alice, '/api/verify-payment', { session_id: 'cs_test_nothing' })).status, 404);
  assert.equal((await post(alice, '/api/cancel-subscription')).status, 404);
});

test('checkout → webhooks → paid plan → limits raised → cancel → period end → free', async () => {
  const started = await post(alice, '/api/create-checkout-session', { plan: 'monthly' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.match(started.body.url, /^http/);
  const session = started.body.session_id;
  assert.equal(started.body.sessionId, session);
  // A double click is the same session (idempotency key).
  assert.equal((await post(alice, '/api/create-checkout-session', { plan: 'monthly' })).body.session_id, session);

  // What Parley sent Stripe, parameter by parameter.
  const requests = (await stripeFake.requests()).filter((r) => r.method === 'POST');
  const customer = requests.find((r) => r.path === '/v1/customers');
  assert.equal(customer.params.email, 'alice@example.test');
  assert.equal(customer.params.metadata.user_id, String(alice.id));
  assert.ok(customer.headers['idempotency-key']);
  const checkout = requests.find((r) => r.path === '/v1/checkout/sessions');
  assert.equal(checkout.params.mode, 'subscription');
  assert.equal(checkout.params.client_reference_id, String(alice.id));
  assert.equal(checkout.params.line_items[0].price, 'price_monthly');
  assert.match(checkout.params.success_url, /^http:\/\/127\.0\.0\.1:5173\/payment\/success\?session_id=\{CHECKOUT_SESSION_ID\}$/);
  assert.equal(checkout.headers['stripe-version'], '2023-08-16');
  assert.ok(checkout.headers['idempotency-key']);

  // Not paid yet: Parley asks Stripe, which says so.
  assert.equal((await post(alice, '/api/verify-payment', { session_id: session })).status, 409);

  // The customer pays: Stripe sends its events, signed.
  const paid = await control('/__checkout/complete', { session });
  for (const event of paid.events) assert.equal(event.status, 200, JSON.stringify(event));
  const subscription = paid.subscription.id;
  const status = await post(alice, '/api/check-subscription-status');
  assert.deepEqual([status.body.plan, status.body.status, status.body.is_subscribed], ['monthly', 'active', true]);
  assert.equal(status.body.subscription_id, subscription);
  assert.ok(Date.parse(status.body.current_period_end) > Date.now());
  assert.equal(status.body.limits.cloud_engines, true);

  // verify-payment agrees (and only for the session's own user).
  const verified = await post(alice, '/api/verify-payment', { sessionId: session });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  assert.equal(verified.body.plan, 'monthly');
  assert.equal((await post(bob, '/api/verify-payment', { session_id: session })).status, 404);
  assert.equal((await post(alice, '/api/create-checkout-session', { plan: 'yearly' })).status, 409, 'already subscribed');

  // The limits went up with the plan.
  assert.equal((await translate(alice, 'Hi there')).status, 200);
  assert.equal((await post(carol, '/api/join-chatroom', { chatroom_id: room })).status, 200, 'the room may grow');
  const upload = await uploadForm(`${parley.base}/api/upload-audio`, alice.token, { room: String(room), language: 'en' },
    { name: 'audio', filename: 'hello.wav', type: 'audio/wav', data: readFileSync(speech.wav) });
  assert.equal(upload.status, 201, JSON.stringify(upload.body));
  assert.ok((await post(alice, '/api/check-subscription-status')).body.usage.speech_seconds >= Math.floor(speech.seconds));
  const cloned = await uploadForm(`${parley.base}/api/voice-clone`, alice.token, { consent: 'true' },
    { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(cloned.status, 201, JSON.stringify(cloned.body));
  assert.equal(cloned.body.mode, 'clone', 'a paid plan clones with the provider');
  assert.equal((await translate(bob, 'Good morning', 'fr')).status, 402, 'bob is still free');
  const portal = await post(alice, '/api/billing-portal');
  assert.equal(portal.status, 200);
  assert.match(portal.body.url, /^http/);

  // Redelivered events change nothing and say so.
  const replay = await control(`/__events/${paid.events[0].id}/resend`, {});
  assert.equal(replay.status, 200);
  const events = await control('/__events?settle=1');
  const resent = events.find((e) => e.id === paid.events[0].id);
  assert.equal(JSON.parse(resent.deliveries.at(-1).response).duplicate, true);

  // Cancel: at the period end; the plan stays until then.
  const canceled = await post(alice, '/api/cancel-subscription');
  assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
  assert.equal(canceled.body.cancel_at_period_end, true);
  assert.equal(canceled.body.plan, 'monthly');
  assert.equal(canceled.body.current_period_end, status.body.current_period_end);
  const update = (await stripeFake.requests()).find((r) => r.path === `/v1/subscriptions/${subscription}` && r.method === 'POST');
  assert.equal(update.params.cancel_at_period_end, 'true');

  // The period ends: Stripe deletes the subscription; back to free, and to the free limits.
  const ended = await control(`/__subscriptions/${subscription}/advance`, { to: 'period_end' });
  for (const event of ended.events ?? []) assert.equal(event.status, 200, JSON.stringify(event));
  const after = await post(alice, '/api/check-subscription-status');
  assert.deepEqual([after.body.plan, after.body.status, after.body.is_subscribed], ['free', 'canceled', false]);
  assert.equal((await translate(alice, 'One more sentence')).status, 402);
});

test('webhook deliveries that are not Stripe\'s are refused', async () => {
  const payload = JSON.stringify({ id: 'evt_e2e_unknown', object: 'event', type: 'customer.subscription.updated', created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'sub_unknown', object: 'subscription', customer: 'cus_nobody', status: 'active', cancel_at_period_end: false,
      current_period_start: 1, current_period_end: 2, created: 1, metadata: {}, items: { object: 'list', data: [{ id: 'si_1', price: { id: 'price_monthly' } }] } } } });
  // Signed by the official package: accepted, and ignored (no such customer).
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
  const ok = await webhook(payload, { 'Stripe-Signature': header });
  assert.equal(ok.status, 200, await ok.text());
  const again = await webhook(payload, { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) });
  assert.equal((await again.json()).duplicate, true, 'a replayed event id is a no-op');
  const refused = async (body, headers) => {
    const res = await webhook(body, headers);
    assert.equal(res.status, 400, `${res.status} ${JSON.stringify(headers)}`);
    return (await res.json()).error;
  };
  await refused(payload.replace('active', 'trialing'), { 'Stripe-Signature': header });           // tampered body
  await refused(payload, { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' }) });
  const old = Math.floor(Date.now() / 1000) - 400;
  const stale = await refused(payload, { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: old }) });
  assert.match(stale.message, /tolerance/);
  await refused(payload, {});                                                                       // no header
  await refused('not json', { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: 'not json', secret: SECRET }) });
});

test('without Stripe configured the payment routes say so', async () => {
  const plain = await startParley();
  try {
    const user = await plain.register('nopay');
    const res = await plain.api('/api/check-subscription-status', { token: user.token, body: {} });
    assert.equal(res.status, 503);
    assert.match(res.body.error.message, /not configured/);
    // And nothing is limited.
    assert.equal((await plain.api('/api/translate', { token: user.token, body: { text: 'x '.repeat(3000), source: 'en', target: 'es' } })).status, 200);
  } finally {
    assert.equal(await plain.stop(), 0);
  }
});

test('deleting an account cancels its subscription at Stripe at once', async () => {
  const dana = await register('dana');
  const started = await post(dana, '/api/create-checkout-session', { plan: 'yearly' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const paid = await control('/__checkout/complete', { session: started.body.session_id });
  const subscription = paid.subscription.id;
  assert.equal((await post(dana, '/api/check-subscription-status')).body.plan, 'yearly');
  // A wrong password deletes nothing and cancels nothing.
  assert.equal((await post(dana, '/api/delete-account', { password: 'not my password' })).status, 403);
  const deletes = async () => (await stripeFake.requests()).filter((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${subscription}`);
  assert.equal((await deletes()).length, 0);
  const deleted = await post(dana, '/api/delete-account', { password: 'a long e2e passphrase' });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.equal((await deletes()).length, 1);
});

test('a message\'s translations count against its sender\'s characters', async () => {
  const eve = await register('eve');
  const frank = await register('frank');
  await post(frank, '/api/update-preferred-language', { preferred_language: 'es' });
  const chat = (await post(eve, '/api/create-chatroom', { name: 'eve and frank', is_private: false })).body.chatroom.id;
  assert.equal((await post(frank, '/api/join-chatroom', { chatroom_id: chat })).status, 200);
  const sender = parley.connect(eve.token);
  const reader = parley.connect(frank.token);
  await Promise.all([next(sender, 'connect'), next(reader, 'connect')]);
  assert.equal((await call(sender, 'join_room', { room: chat })).ok, true);
  assert.equal((await call(reader, 'join_room', { room: chat })).ok, true);
  const result = async (text) => {
    const arrived = next(reader, 'translation_result', 15000);
    await call(sender, 'send_message', { room: chat, text, language: 'en' });
    return arrived;
  };
  // 20 + 20 characters: exactly the free limit; the next message is not translated, and says why.
  assert.match((await result('My car is green here')).text ?? '', /coche|verde/i);
  assert.ok((await result('Our dog runs so fast')).text);
  const refused = await result('See you later friend');
  assert.equal(refused.error?.code, 'quota_exceeded', JSON.stringify(refused));
  assert.equal(refused.language, 'es');
  sender.disconnect();
  reader.disconnect();
});
