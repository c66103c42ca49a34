// The room's record in every language, end to end: an English speaker and a Spanish reader type
// and speak through the stock socket.io-client (Apertium translates, pocketsphinx recognises),
// then export the room as WebVTT (parsed by node-webvtt in strict mode), SubRip (parsed by
// `subtitle`), plain text and JSON. Every cue must line up with a stored message: same order, same
// text, the translation into the reader's language first, times from the stored ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webvtt from 'node-webvtt';
import { parseSync as parseSubtitles } from 'subtitle';
import { startParley, next, call } from '../realtime/harness.mjs';
import { makeSpeech, chunksOf } from '../speech/speech_tools.mjs';

let parley;
let work;
let speech;
let ana; let bea; let otto;
let room;
const sockets = {};
// What the session stored, oldest first: { id, text, created_at, kind, spoken?, translations }.
let stored;
const translations = new Map();  // message id -> { es?, en? } as delivered live

async function register(name, language) {
  const res = await parley.api('/api/register', {
    body: { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase', preferred_language: language },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token, name };
}

async function get(path, token) {
  const res = await fetch(parley.base + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function remember(socket) {
  socket.on('translation_result', (r) => {
    const known = translations.get(r.message_id) ?? {};
    known[r.language] = r.text;
    translations.set(r.message_id, known);
  });
}

async function waitUntil(condition, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Speaks through audio_stream in real time, as a microphone would: spoken times are then the
// stream's own.
async function speak(socket, file, seconds) {
  const started = await call(socket, 'audio_stream', { action: 'start', stream_id: 'mic', room, codec: 'webm-opus', language: 'en-US' });
  assert.equal(started.error, undefined, JSON.stringify(started));
  const pieces = chunksOf(readFileSync(file), 2048);
  const pause = Math.floor((seconds * 1000) / pieces.length);
  const begun = Date.now();
  for (const [i, piece] of pieces.entries()) {
    const ack = await call(socket, 'audio_stream', { action: 'chunk', stream_id: 'mic' }, 5000, piece);
    assert.equal(ack.error, undefined, JSON.stringify(ack));
    const due = begun + (i + 1) * pause;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  const closed = next(socket, 'audio_stream_closed', 20000);
  await call(socket, 'audio_stream', { action: 'stop', stream_id: 'mic' });
  await closed;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-transcript-e2e-'));
  speech = makeSpeech(work, ['the weather is nice today']);
  parley = await startParley({ PARLEY_STREAM_IDLE_SECONDS: '5' });
  ana = await register('ana', 'en');
  bea = await register('bea', 'es');
  otto = await register('otto', 'en');
  const created = await parley.api('/api/create-chatroom', { token: ana.token, body: { name: 'Café --> bilingüe', is_private: false } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  room = created.body.chatroom.id;
  assert.equal((await parley.api('/api/join-chatroom', { token: bea.token, body: { chatroom_id: room } })).status, 200);
  for (const user of [ana, bea]) {
    sockets[user.name] = parley.connect(user.token, { transports: ['websocket'] });
    await next(sockets[user.name], 'connect');
    remember(sockets[user.name]);
    const ack = await call(sockets[user.name], 'join_room', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
  }

  // The session: typed in English, typed in Spanish, spoken in English.
  const first = await call(sockets.ana, 'send_message', { room, text: 'The house is big and the dog is in the garden.' });
  assert.ok(first.id, JSON.stringify(first));
  await waitUntil(() => translations.get(first.id)?.es, 'the Spanish translation of the first message');
  await new Promise((r) => setTimeout(r, 300));
  const second = await call(sockets.bea, 'send_message', { room, text: 'La casa es grande y el perro está en el jardín.' });
  assert.ok(second.id, JSON.stringify(second));
  await waitUntil(() => translations.get(second.id)?.en, 'the English translation of the second message');
  const finals = [];
  sockets.bea.on('audio_transcription', (e) => { if (e.is_final && e.message_id) finals.push(e); });
  await speak(sockets.ana, speech.webm, speech.seconds);
  await waitUntil(() => finals.length === 1, 'the spoken message');
  await waitUntil(() => translations.get(finals[0].message_id)?.es, 'the Spanish translation of the spoken message');

  const history = await parley.api('/api/get-chatroom-messages', { token: bea.token, body: { chatroom_id: room } });
  assert.equal(history.status, 200, JSON.stringify(history.body));
  stored = history.body.messages.reverse();
  assert.deepEqual(stored.map((m) => m.kind), ['text', 'text', 'speech']);
  assert.equal(stored[2].id, finals[0].message_id);
  // The spoken message knows when it was spoken: as long as the utterance, before it was stored.
  const spoken = stored[2].spoken;
  assert.ok(spoken, JSON.stringify(stored[2]));
  const spokenMs = Date.parse(spoken.ended_at) - Date.parse(spoken.started_at);
  assert.ok(Math.abs(spokenMs - (finals[0].end_ms - finals[0].start_ms)) <= 1, `${spokenMs} vs ${JSON.stringify(finals[0])}`);
  assert.ok(Date.parse(spoken.ended_at) <= Date.parse(stored[2].created_at));
});

after(async () => {
  assert.equal(await parley.stop(), 0, 'parley exits 0 on SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

const startOf = (m) => Date.parse(m.spoken?.started_at ?? m.created_at);
const plain = (line) => line.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// What the Spanish reader reads first for each stored message, and the original under it.
function expectedSpanish(m) {
  if (m.language === 'es') return [m.text];
  return [translations.get(m.id).es, m.text];
}

test('WebVTT in Spanish: one cue per stored message, translation first, the original under it, stored times', async () => {
  const res = await get(`/api/chatrooms/${room}/transcript?lang=es&format=vtt`, bea.token);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'text/vtt; charset=utf-8');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="room-${room}-transcript-es.vtt"`);
  const parsed = webvtt.parse(res.text, { strict: true });
  assert.equal(parsed.valid, true, JSON.stringify(parsed.errors));
  assert.equal(parsed.cues.length, stored.length);
  const origin = startOf(stored[0]);
  for (const [i, cue] of parsed.cues.entries()) {
    const m = stored[i];
    assert.equal(cue.identifier, `msg-${m.id}`);
    assert.ok(Math.abs(cue.start - (startOf(m) - origin) / 1000) < 0.0015, `cue ${i} start ${cue.start}`);
    assert.ok(cue.end > cue.start);
    const lines = cue.text.split('\n');
    assert.match(lines[0], new RegExp(`^<v ${m.sender.username}>`));
    assert.deepEqual(lines.map(plain), expectedSpanish(m));
  }
  // The spoken cue lasts as long as the utterance did.
  const spoken = parsed.cues[2];
  const spokenMs = Date.parse(stored[2].spoken.ended_at) - Date.parse(stored[2].spoken.started_at);
  assert.ok(Math.abs((spoken.end - spoken.start) * 1000 - Math.max(500, spokenMs)) < 1.5);
  // The room's name is in the header, made safe.
  assert.match(res.text, /NOTE\nParley transcript of "Café --&gt; bilingüe"/);
});

test('SubRip in English lines up the same way: Spanish messages translated, English ones as they are', async () => {
  const res = await get(`/api/chatrooms/${room}/transcript?lang=en&format=srt`, ana.token);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'application/x-subrip; charset=utf-8');
  const cues = parseSubtitles(res.text).filter((node) => node.type === 'cue').map((node) => node.data);
  assert.equal(cues.length, stored.length);
  const origin = startOf(stored[0]);
  for (const [i, cue] of cues.entries()) {
    const m = stored[i];
    assert.equal(cue.start, startOf(m) - origin, `cue ${i}`);
    const lines = cue.text.split('\n');
    const expected = m.language === 'es' ? [translations.get(m.id).en, m.text] : [m.text];
    assert.deepEqual(lines.map(plain), [`${m.sender.username}: ${expected[0]}`, ...expected.slice(1)]);
  }
});

test('plain text and JSON carry the same record; JSON names the languages the room can be read in', async () => {
  const text = await get(`/api/chatrooms/${room}/transcript?lang=es&format=txt`, bea.token);
  assert.equal(text.status, 200);
  assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
  for (const m of stored) assert.ok(text.text.includes(m.text), m.text);
  assert.ok(text.text.includes(`[es] ${translations.get(stored[0].id).es}`));
  assert.match(text.text, /ana \(en-US\) \[spoken\]: /);

  const json = await get(`/api/chatrooms/${room}/transcript?lang=es`, bea.token);
  assert.equal(json.status, 200);
  const body = JSON.parse(json.text);
  assert.equal(body.language, 'es');
  assert.deepEqual(body.languages, ['en', 'es']);
  assert.deepEqual(body.entries.map((e) => e.message.id), stored.map((m) => m.id));
  assert.equal(body.entries[0].translation.text, translations.get(stored[0].id).es);
  assert.equal(body.entries[1].translation, null);
  assert.equal(body.entries[1].in_reader_language, true);
  assert.equal(body.entries[0].start_ms, 0);
});

test('a time range: from is inclusive, cue times count from it, ISO 8601 or unix milliseconds', async () => {
  const from = stored[1].created_at;  // Bea's message
  const iso = await get(`/api/chatrooms/${room}/transcript?lang=es&format=vtt&from=${encodeURIComponent(from)}`, bea.token);
  assert.equal(iso.status, 200, iso.text);
  const cues = webvtt.parse(iso.text, { strict: true }).cues;
  assert.deepEqual(cues.map((c) => c.identifier), [`msg-${stored[1].id}`, `msg-${stored[2].id}`]);
  assert.equal(cues[0].start, 0);
  const to = Date.parse(from);  // exclusive: only the first message
  const ms = JSON.parse((await get(`/api/chatrooms/${room}/transcript?to=${to}`, bea.token)).text);
  assert.deepEqual(ms.entries.map((e) => e.message.id), [stored[0].id]);
  assert.equal(ms.language, null);
});

test('refusals: bad format, language and times are 422; strangers 404; no token 401', async () => {
  const base = `/api/chatrooms/${room}/transcript`;
  for (const query of ['format=html', 'lang=english!', 'from=yesterday', 'to=2026-02-30T00:00:00Z',
    'from=2026-11-27T10:00:00Z&to=2026-11-27T09:00:00Z', `lang=${encodeURIComponent("es' OR 1=1 --")}`]) {
    const res = await get(`${base}?${query}`, bea.token);
    assert.equal(res.status, 422, `${query}: ${res.text}`);
    assert.equal(JSON.parse(res.text).error.code, 'validation_failed', query);
  }
  const stranger = await get(base, otto.token);
  assert.equal(stranger.status, 404);
  assert.equal(JSON.parse(stranger.text).error.code, 'not_found');
  assert.equal((await get(`/api/chatrooms/999999/transcript`, bea.token)).status, 404);
  assert.equal((await get(`/api/chatrooms/abc/transcript`, bea.token)).status, 404);
  assert.equal((await get(base)).status, 401);
});
