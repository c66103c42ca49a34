// Every listener in their own language, through the real server with the embedded engines
// (Apertium, CLD2) and the stock socket.io-client: three users reading English, Spanish and
// Catalan in one room, translations stored with the message for history and catch-up, the
// cache, request_translation, per-room languages, and the refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, call, silent, nextWhere } from '../realtime/harness.mjs';

let parley;
let alice; let bob; let carme;
let room;
const sockets = {};

async function register(name, language) {
  const res = await parley.api('/api/register', {
    body: { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase', preferred_language: language },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token, name };
}

async function connect(user) {
  const socket = parley.connect(user.token);
  await next(socket, 'connect');
  return socket;
}

/** Collects every `event` a socket receives, for counting (first argument only). */
function record(socket, event) {
  const seen = [];
  socket.on(event, (payload) => seen.push(payload));
  return seen;
}


/** The translation_result of `messageId` among those `record` collects (waits up to `ms`). */
async function resultFor(results, messageId, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = results.find((r) => r.message_id === messageId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no translation_result for message ${messageId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  parley = await startParley();
  alice = await register('alice', 'en');
  bob = await register('bob', 'es');
  carme = await register('carme', 'ca-ES');
  const created = await parley.api('/api/create-chatroom', { token: alice.token, body: { name: 'tres llengües', is_private: false } });
  room = created.body.chatroom.id;
  for (const user of [bob, carme]) {
    assert.equal((await parley.api('/api/join-chatroom', { token: user.token, body: { chatroom_id: room } })).status, 200);
  }
  for (const user of [alice, bob, carme]) {
    sockets[user.name] = await connect(user);
    const ack = await call(sockets[user.name], 'join_room', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
  }
});
after(async () => { assert.equal(await parley.stop(), 0); });

test('join_room answers with the listening language', async () => {
  const ack = await call(sockets.carme, 'join_room', { room });
  assert.equal(ack.language, 'ca-ES', 'the preferred language, as set');
});

test('an English message reaches the Spanish and Catalan readers translated, the English one unchanged', async () => {
  const text = 'The house is big and the dog is in the garden.';
  const original = { alice: next(sockets.alice, 'new_message'), bob: next(sockets.bob, 'new_message'), carme: next(sockets.carme, 'new_message') };
  const results = {
    bob: nextWhere(sockets.bob, 'translation_result', (r) => r.language === 'es'),
    carme: nextWhere(sockets.carme, 'translation_result', (r) => r.language === 'ca'),
  };
  const aliceResults = record(sockets.alice, 'translation_result');
  const ack = await call(sockets.alice, 'send_message', { room, text });
  assert.equal(ack.language, 'en', 'detected');
  const seen = { alice: await original.alice, bob: await original.bob, carme: await original.carme };
  for (const message of Object.values(seen)) {
    assert.equal(message.id, ack.id);
    assert.equal(message.text, text, 'the original is always delivered');
    assert.equal(message.language, 'en');
  }
  assert.equal(seen.alice.translation, undefined);
  assert.equal(seen.alice.translation_pending, undefined);
  assert.equal(seen.bob.translation_pending, true, 'the translation follows');
  assert.equal(seen.carme.translation_pending, true);

  const es = await results.bob;
  const ca = await results.carme;
  assert.deepEqual([es.message_id, es.room, es.source, es.engine, es.via], [ack.id, room, 'en', 'apertium', []]);
  assert.match(es.text, /casa/i);
  assert.match(es.text, /jard[ií]n/i);
  assert.equal(ca.message_id, ack.id);
  assert.match(ca.text, /casa/i);
  assert.match(ca.text, /jard[ií]/i);
  assert.ok(await silent(sockets.alice, 'translation_result', 300));
  assert.equal(aliceResults.length, 0, 'the English reader gets no translation');

  // History: the same translations, stored with the message, for each reader.
  for (const [user, language, pattern] of [[bob, 'es', /casa/i], [carme, 'ca', /casa/i]]) {
    const history = await parley.api('/api/get-chatroom-messages', { token: user.token, body: { chatroom_id: room } });
    assert.equal(history.status, 200);
    assert.equal(history.body.language, language);
    const stored = history.body.messages.find((m) => m.id === ack.id);
    assert.equal(stored.text, text);
    assert.equal(stored.translation.language, language);
    assert.match(stored.translation.text, pattern);
  }
  assert.equal((await parley.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room, language: 'ca' } }))
    .body.messages.find((m) => m.id === ack.id).translation.text, ca.text, 'any stored language on request');
  const english = await parley.api('/api/get-chatroom-messages', { token: alice.token, body: { chatroom_id: room } });
  assert.equal(english.body.messages.find((m) => m.id === ack.id).translation, undefined);
});

test('the same text again comes translated inside new_message (cache), with no follow-up', async () => {
  const text = 'The house is big and the dog is in the garden.';
  const bobResults = record(sockets.bob, 'translation_result');
  const arrived = next(sockets.bob, 'new_message');
  const ack = await call(sockets.alice, 'send_message', { room, text });
  const message = await arrived;
  assert.equal(message.id, ack.id);
  assert.equal(message.translation.language, 'es');
  assert.match(message.translation.text, /casa/i);
  assert.equal(message.translation_pending, undefined);
  assert.ok(await silent(sockets.bob, 'translation_result', 500));
  assert.equal(bobResults.length, 0);
  const history = await parley.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room } });
  assert.match(history.body.messages.find((m) => m.id === ack.id).translation.text, /casa/i, 'stored too');
});

test('a Spanish message is detected and reaches the English reader in English', async () => {
  const text = 'La reunión se ha trasladado al jueves por la tarde debido al día festivo.';
  const result = nextWhere(sockets.alice, 'translation_result', (r) => r.language === 'en');
  const ack = await call(sockets.bob, 'send_message', { room, text });
  assert.equal(ack.language, 'es');
  const en = await result;
  assert.equal(en.message_id, ack.id);
  assert.equal(en.source, 'es');
  assert.match(en.text, /meeting|Thursday/i);
});

test('short text takes the declared language, else the sender\'s', async () => {
  assert.equal((await call(sockets.bob, 'send_message', { room, text: 'ok' })).language, 'es');
  assert.equal((await call(sockets.bob, 'send_message', { room, text: 'ok', language: 'it' })).language, 'it');
  const bad = await call(sockets.bob, 'send_message', { room, text: 'hola', language: 42 });
  assert.equal(bad.error.code, 'validation_failed');
});

test('request_translation: a message into another language (a pivot, said so), and a text', async () => {
  const ack = await call(sockets.alice, 'send_message', { room, text: 'The house is big.' });
  const result = nextWhere(sockets.bob, 'translation_result', (r) => r.message_id === ack.id && r.language === 'it');
  const asked = await call(sockets.bob, 'request_translation', { message_id: ack.id, target_language: 'it' }, 15000);
  assert.ok(['pending', 'delivered'].includes(asked.status), JSON.stringify(asked));
  const it = await result;
  assert.deepEqual(it.via, ['es'], 'Italian goes through Spanish');
  assert.match(it.text, /casa/i);
  // Asked again: answered from the store, once.
  const again = nextWhere(sockets.bob, 'translation_result', (r) => r.message_id === ack.id && r.language === 'it');
  assert.equal((await call(sockets.bob, 'request_translation', { message_id: ack.id, target_language: 'it' })).status, 'delivered');
  assert.equal((await again).text, it.text);

  const text = nextWhere(sockets.carme, 'translation_result', (r) => r.request_id === 'r1');
  const done = await call(sockets.carme, 'request_translation', { text: 'The dog is in the house.', target_language: 'es', request_id: 'r1' }, 15000);
  assert.equal(done.status, 'delivered');
  const translated = await text;
  assert.equal(translated.source, 'en');
  assert.match(translated.text, /perro/i);
});

test('request_translation refusals are clear errors', async () => {
  const cases = [
    [{}, 'validation_failed'],
    [{ message_id: 999999 }, 'not_found'],
    [{ message_id: 1, target_language: 'english!' }, 'validation_failed'],
    [{ text: 'The house', target_language: 'ja', source_language: 'en' }, 'unsupported'],
    [{ text: 'hello there friend' }, 'validation_failed'],
    [{ text: 'x'.repeat(20000), target_language: 'es' }, 'validation_failed'],
  ];
  for (const [body, code] of cases) {
    const errorEvent = next(sockets.alice, 'translation_result');
    const ack = await call(sockets.alice, 'request_translation', body, 10000);
    assert.equal(ack.error?.code, code, `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(ack)}`);
    assert.equal((await errorEvent).error.code, code);
  }
  // A message of a room one is not in cannot be probed.
  const stranger = await register('stranger', 'fr');
  const socket = await connect(stranger);
  const ack = await call(socket, 'request_translation', { message_id: 1, target_language: 'es' });
  assert.equal(ack.error.code, 'not_found');
  socket.disconnect();
});

test('set_language changes what one reads in this room, and null goes back to the preference', async () => {
  const set = await call(sockets.carme, 'set_language', { room, language: 'es' });
  assert.deepEqual(set, { room, language: 'es' });
  // Results of earlier messages may still be on their way: this message's is the one to see.
  const results = record(sockets.carme, 'translation_result');
  const sent = await call(sockets.alice, 'send_message', { room, text: 'The children play in the park every afternoon.' });
  const es = await resultFor(results, sent.id);
  assert.equal(es.language, 'es');
  assert.match(es.text, /parque/i);
  assert.deepEqual(await call(sockets.carme, 'set_language', { room, language: null }), { room, language: 'ca' });
  assert.equal((await call(sockets.carme, 'set_language', { room, language: 'not a language' })).error.code, 'validation_failed');
  assert.equal((await call(sockets.carme, 'set_language', { room })).error.code, 'validation_failed');
  assert.equal((await call(sockets.carme, 'set_language', { room: 999999, language: 'es' })).error.code, 'forbidden');
  assert.equal((await call(sockets.carme, 'join_room', { room, language: 'bad tag!' })).error.code, 'validation_failed');
});

test('changing one\'s preferred language takes effect on live connections at once', async () => {
  const changed = await parley.api('/api/update-preferred-language', { token: carme.token, body: { preferred_language: 'es' } });
  assert.equal(changed.status, 200);
  // The change is applied on a worker right after the reply: the next message finds it.
  let es;
  for (let attempt = 0; attempt < 20 && !es; attempt += 1) {
    const results = record(sockets.carme, 'translation_result');
    const sent = await call(sockets.alice, 'send_message', { room, text: `The cat sleeps on the red sofa number ${attempt}.` });
    const got = await resultFor(results, sent.id);
    if (got.language === 'es') es = got;
  }
  assert.ok(es, 'translations now come in Spanish');
  assert.match(es.text, /gato/i);
  assert.equal((await parley.api('/api/update-preferred-language', { token: carme.token, body: { preferred_language: 'ca' } })).status, 200);
});

test('catch-up: join_room with after_seq returns the missed messages with their translations', async () => {
  const history = await parley.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room, limit: 1 } });
  const lastSeq = history.body.messages[0].seq;
  sockets.bob.disconnect();
  const ack = await call(sockets.alice, 'send_message', { room, text: 'The house is big and the dog is in the garden.' });
  // Cached: stored at once; a new text would be queued. Wait until it is stored either way.
  for (let i = 0; i < 50; i += 1) {
    const page = await parley.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room, limit: 1 } });
    if (page.body.messages[0].translation) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  sockets.bob = await connect(bob);
  const joined = await call(sockets.bob, 'join_room', { room, after_seq: lastSeq });
  assert.equal(joined.missed.length, 1);
  assert.equal(joined.missed[0].id, ack.id);
  assert.equal(joined.missed[0].translation.language, 'es');
  assert.match(joined.missed[0].translation.text, /casa/i);
  assert.equal((await call(sockets.bob, 'join_room', { room, after_seq: -1 })).error.code, 'validation_failed');
});

test('a connection that drops and recovers still reads the room in its own language', async () => {
  // Carme's second connection reads the room in Spanish; the network drops it and the client
  // recovers the session (same socket id, its rooms): what it reads must not change.
  const second = parley.connect(carme.token, { transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await next(second, 'connect');
  assert.equal((await call(second, 'join_room', { room })).ok, true);
  assert.deepEqual(await call(second, 'set_language', { room, language: 'es' }), { room, language: 'es' });
  // A client resumes from the last event it got: it needs one before the drop.
  const before = next(second, 'new_message');
  await call(sockets.alice, 'send_message', { room, text: 'Good morning.' });
  await before;
  const firstId = second.id;
  const reconnected = next(second, 'connect', 10000);
  second.io.engine.transport.ws.terminate();
  await reconnected;
  assert.equal(second.recovered, true, 'the session was recovered');
  assert.equal(second.id, firstId);

  const results = record(second, 'translation_result');
  const messages = record(second, 'new_message');
  const sent = await call(sockets.alice, 'send_message', { room, text: 'The cat sleeps on the warm roof of the house.' });
  const translated = await resultFor(results, sent.id);
  assert.equal(translated.language, 'es');
  assert.match(translated.text, /gato/i);
  assert.deepEqual(messages.map((m) => m.id), [sent.id], 'the message itself, once');
  second.disconnect();
});
