// Listener-chosen voice modes (issue 11) through the real server with the embedded engines
// (pocketsphinx, Apertium, espeak-ng) and the stock socket.io-client: in one room, each listener
// picks captions only, a neutral voice, the speaker's own voice (only with the speaker's consented
// voice reference) or the original recording; every delivery is what that listener chose,
// synthetic audio says so, and the choice survives a reconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParley, next, call } from '../realtime/harness.mjs';
import { makeSpeech, chunksOf, uploadForm } from '../speech/speech_tools.mjs';

let parley;
let work;
let speech;
let room;
const users = {};
const sockets = {};
const heard = {};  // name -> {tts: [], original: [], messages: [], translations: []}


async function connect(name) {
  const socket = parley.connect(users[name].token, { transports: ['websocket'] });
  await next(socket, 'connect');
  heard[name] = { tts: [], original: [], messages: [] };
  socket.on('tts_audio', (payload, audio) => heard[name].tts.push({ ...payload, bytes: Buffer.from(payload.audio ?? audio ?? []) }));
  socket.on('original_audio', (payload) => heard[name].original.push({ ...payload, bytes: Buffer.from(payload.audio) }));
  socket.on('new_message', (m) => heard[name].messages.push(m));
  sockets[name] = socket;
  return socket;
}

/** Waits until `check()` is true (polling), or fails after `ms`. */
async function until(check, what, ms = 30000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function speak(name, streamId) {
  const socket = sockets[name];
  const started = await call(socket, 'audio_stream', { action: 'start', stream_id: streamId, room, codec: 'webm-opus', language: 'en' });
  assert.equal(started.error, undefined, JSON.stringify(started));
  for (const piece of chunksOf(readFileSync(speech.webm), 4096)) {
    assert.equal((await call(socket, 'audio_stream', { action: 'chunk', stream_id: streamId }, 5000, piece)).error, undefined);
  }
  const closed = next(socket, 'audio_stream_closed', 30000);
  await call(socket, 'audio_stream', { action: 'stop', stream_id: streamId });
  await closed;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-voices-e2e-'));
  speech = makeSpeech(work, ['hello how are you doing today']);
  parley = await startParley();
  users.sam = await parley.register('sam', 'en');     // speaks, with a consented voice reference
  users.tom = await parley.register('tom', 'en');     // speaks, without one
  users.cap = await parley.register('cap', 'es');     // captions only
  users.neu = await parley.register('neu', 'es');     // neutral voice
  users.clo = await parley.register('clo', 'es');     // the speaker's voice
  users.ori = await parley.register('ori', 'es');     // the original recording
  const created = await parley.api('/api/create-chatroom', { token: users.sam.token, body: { name: 'voices', is_private: false } });
  room = created.body.chatroom.id;
  for (const name of Object.keys(users)) {
    if (name !== 'sam') assert.equal((await parley.api('/api/join-chatroom', { token: users[name].token, body: { chatroom_id: room } })).status, 200);
    await connect(name);
    const joined = await call(sockets[name], 'join_room', { room });
    assert.equal(joined.ok, true, JSON.stringify(joined));
    assert.equal(joined.voice_mode, 'captions', 'the default');
  }
  const made = await uploadForm(parley.base + '/api/voice-clone', users.sam.token, { consent: 'true' },
    { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
});
after(async () => {
  assert.equal(await parley.stop(), 0);
  rmSync(work, { recursive: true, force: true });
});

test('each listener picks a mode; bad choices are refused', async () => {
  for (const [name, mode, format] of [['cap', 'captions'], ['neu', 'neutral', 'mp3'], ['clo', 'cloned'], ['ori', 'original']]) {
    const ack = await call(sockets[name], 'set_voice_mode', { room, mode, format });
    assert.deepEqual(ack, { room, mode, format: format ?? 'ogg' }, name);
  }
  const refusals = [
    [{ room, mode: 'karaoke' }, 'validation_failed'],
    [{ room }, 'validation_failed'],
    [{ mode: 'neutral' }, 'validation_failed'],
    [{ room, mode: 'neutral', format: 'flac' }, 'validation_failed'],
    [{ room: room + 1000, mode: 'neutral' }, 'forbidden'],
  ];
  for (const [body, code] of refusals) {
    assert.equal((await call(sockets.cap, 'set_voice_mode', body)).error?.code, code, JSON.stringify(body));
  }
  // Nobody here speaks Klingon: a voice for it is refused now rather than silent later.
  assert.equal((await call(sockets.cap, 'set_language', { room, language: 'tlh' })).language, 'tlh');
  assert.equal((await call(sockets.cap, 'set_voice_mode', { room, mode: 'neutral' })).error?.code, 'unsupported');
  assert.equal((await call(sockets.cap, 'set_language', { room, language: null })).language, 'es');
  assert.equal((await call(sockets.cap, 'set_voice_mode', { room, mode: 'captions' })).mode, 'captions');
});

let spoken;
test('a spoken message reaches each listener as chosen: captions, neutral voice, the consented voice, the original recording', async () => {
  await speak('sam', 's1');
  await until(() => heard.cap.messages.some((m) => m.kind === 'speech'), 'the speech message');
  spoken = heard.cap.messages.find((m) => m.kind === 'speech');
  await until(() => heard.neu.tts.some((a) => a.message_id === spoken.id), 'the neutral voice');
  await until(() => heard.clo.tts.some((a) => a.message_id === spoken.id), 'the speaker voice');
  await until(() => heard.ori.original.some((a) => a.message_id === spoken.id), 'the original recording');

  const neutral = heard.neu.tts.find((a) => a.message_id === spoken.id);
  assert.equal(neutral.language, 'es', 'in the listener language (the translation)');
  assert.equal(neutral.voice, 'default');
  assert.equal(neutral.synthetic, true);
  assert.equal(neutral.format, 'mp3');
  assert.equal(neutral.voice_fallback, undefined, 'neutral was asked for');
  assert.ok(neutral.bytes.length > 1000);

  const cloned = heard.clo.tts.find((a) => a.message_id === spoken.id);
  assert.equal(cloned.language, 'es');
  assert.equal(cloned.voice, 'approximate', 'the embedded engine speaks an approximation of the consented voice');
  assert.equal(cloned.synthetic, true);
  assert.equal(cloned.format, 'ogg');
  assert.equal(cloned.bytes.subarray(0, 4).toString('latin1'), 'OggS');

  const original = heard.ori.original.find((a) => a.message_id === spoken.id);
  assert.equal(original.synthetic, false);
  assert.equal(original.mime_type, 'audio/wav');
  assert.equal(original.language, 'en');
  assert.equal(original.bytes.subarray(0, 4).toString('latin1'), 'RIFF');
  const stored = await fetch(`${parley.base}/api/audio/${spoken.audio_url.split('/').pop()}`, { headers: { Authorization: `Bearer ${users.ori.token}` } });
  assert.ok(Buffer.from(await stored.arrayBuffer()).equals(original.bytes), 'the recording itself');

  // What each did not choose, they did not get.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(heard.cap.tts.length + heard.cap.original.length, 0, 'captions only');
  assert.equal(heard.neu.original.length, 0);
  assert.equal(heard.clo.original.length, 0);
  assert.equal(heard.ori.tts.length, 0);
  assert.equal(heard.sam.tts.length + heard.sam.original.length, 0, 'the speaker hears nothing of their own');
  assert.equal(heard.tom.tts.length + heard.tom.original.length, 0, 'captions by default');
});

test('without a consented voice, the speaker-voice listener hears a neutral voice and is told why', async () => {
  const before = heard.clo.tts.length;
  const ack = await call(sockets.tom, 'send_message', { room, text: 'The house is big and the dog is in the garden.' });
  assert.equal(ack.error, undefined);
  await until(() => heard.clo.tts.length > before && heard.neu.tts.some((a) => a.message_id === ack.id), 'speech of a typed message');
  const audio = heard.clo.tts.find((a) => a.message_id === ack.id);
  assert.equal(audio.voice, 'default');
  assert.equal(audio.voice_fallback, 'no_consented_voice');
  assert.equal(audio.synthetic, true);
  assert.equal(heard.ori.original.some((a) => a.message_id === ack.id), false, 'a typed message has no recording');
});

test('a room choice wins over a connection tts_preferences; without one, tts_preferences decides as before', async () => {
  // cap chose captions for this room; tom never chose.
  assert.equal((await call(sockets.cap, 'tts_preferences', { enabled: true, language: 'es' })).enabled, true);
  assert.equal((await call(sockets.tom, 'tts_preferences', { enabled: true, language: 'en' })).enabled, true);
  const ack = await call(sockets.sam, 'send_message', { room, text: 'Good evening, everybody, the meeting starts soon.' });
  await until(() => heard.tom.tts.some((a) => a.message_id === ack.id) && heard.neu.tts.some((a) => a.message_id === ack.id), 'speech for tom and neu');
  const legacy = heard.tom.tts.find((a) => a.message_id === ack.id);
  assert.equal(legacy.language, 'en');
  assert.equal(legacy.voice, 'approximate', 'tts_preferences: the speaker voice, as before');
  assert.equal(legacy.voice_fallback, undefined);
  assert.equal(legacy.synthetic, true);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(heard.cap.tts.length, 0, 'captions chosen for the room: silent despite tts_preferences');
  assert.equal((await call(sockets.cap, 'tts_preferences', { enabled: false })).enabled, false);
  assert.equal((await call(sockets.tom, 'tts_preferences', { enabled: false })).enabled, false);
});

test('the choice is kept with the membership: a new connection gets it back on join_room', async () => {
  sockets.clo.disconnect();
  const socket = await connect('clo');
  const joined = await call(socket, 'join_room', { room });
  assert.equal(joined.voice_mode, 'cloned');
  const ack = await call(sockets.sam, 'send_message', { room, text: 'See you all tomorrow morning at the station.' });
  await until(() => heard.clo.tts.some((a) => a.message_id === ack.id), 'speech after the reconnect');
  assert.equal(heard.clo.tts.find((a) => a.message_id === ack.id).voice, 'approximate');
  // Back to captions: nothing more.
  assert.equal((await call(socket, 'set_voice_mode', { room, mode: 'captions' })).mode, 'captions');
  const quiet = await call(sockets.sam, 'send_message', { room, text: 'And now nobody hears this as speech here.' });
  await until(() => heard.neu.tts.some((a) => a.message_id === quiet.id), 'the neutral listener still hears');
  assert.equal(heard.clo.tts.some((a) => a.message_id === quiet.id), false);
});
