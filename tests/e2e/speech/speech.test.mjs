// Speech end to end, through the real parts: flite speaks reference sentences, ffmpeg turns them
// into the webm/opus a browser's MediaRecorder sends, the official socket.io-client streams the
// chunks, Parley (pocketsphinx) answers with partial and final `audio_transcription` events and
// stores each final as a message; the word error rate of the finals is checked against a bound.
// Also: audio uploads, playback rights, text-to-speech, voice references, and the bad inputs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParley, next, call } from '../realtime/harness.mjs';
import { wordErrorRate, makeSpeech, chunksOf, collectTranscriptions, uploadForm, ffprobe, postStatus } from './speech_tools.mjs';

// flite's slt voice measured ~9% WER with pocketsphinx (../shared/engines.md); the bound leaves
// room for opus compression and utterance cuts without letting a broken path pass.
const MAX_WER = 0.3;
const SENTENCES = [
  'the weather is nice today',
  'please open the window',
];

let parley;
let work;
let speech;  // { webm, mp3, wav, reference }
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-speech-e2e-'));
  speech = makeSpeech(work, SENTENCES);
  parley = await startParley({ PARLEY_STREAM_IDLE_SECONDS: '3', PARLEY_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) });
});
after(async () => {
  assert.equal(await parley.stop(), 0, 'parley exits 0 on SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

async function waitUntil(condition, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

async function memberSocket(name) {
  const user = await parley.register(name);
  const socket = parley.connect(user.token, { transports: ['websocket'] });
  await next(socket, 'connect');
  return { user, socket };
}

async function roomWith(owner, ...others) {
  const res = await parley.api('/api/create-chatroom', { token: owner.user.token, body: { name: 'speech room', is_private: false } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const room = res.body.chatroom.id;
  for (const member of [owner, ...others]) {
    if (member !== owner) {
      const joined = await parley.api('/api/join-chatroom', { token: member.user.token, body: { chatroom_id: room } });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    }
    const ack = await call(member.socket, 'join_room', { room });
    assert.equal(ack.ok, true, JSON.stringify(ack));
  }
  return room;
}

test('a webm/opus stream is transcribed live: partials, finals, stored messages', async () => {
  const speaker = await memberSocket('speaker');
  const listener = await memberSocket('listener');
  const room = await roomWith(speaker, listener);
  const heard = collectTranscriptions(listener.socket);
  const messages = [];
  listener.socket.on('new_message', (m) => messages.push(m));

  const started = await call(speaker.socket, 'audio_stream', { action: 'start', stream_id: 's1', room, codec: 'webm-opus', language: 'en-US' });
  assert.equal(started.error, undefined, JSON.stringify(started));
  assert.equal(started.engine, 'pocketsphinx');
  assert.equal(started.partials, true);
  // MediaRecorder-sized pieces (~4 KB), paced at about 4x real time with each ack awaited.
  const pieces = chunksOf(readFileSync(speech.webm), 4096);
  const pause = Math.max(5, Math.floor((speech.seconds * 1000) / pieces.length / 4));
  for (const piece of pieces) {
    const ack = await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 's1' }, 5000, piece);
    assert.equal(ack.error, undefined, JSON.stringify(ack));
    await new Promise((r) => setTimeout(r, pause));
  }
  const closed = next(speaker.socket, 'audio_stream_closed', 20000);
  assert.deepEqual(await call(speaker.socket, 'audio_stream', { action: 'stop', stream_id: 's1' }), { stream_id: 's1' });
  assert.deepEqual(await closed, { room, stream_id: 's1' });
  // The listener is another connection: its copies may trail the speaker's closing event.
  await waitUntil(() => heard.filter((e) => e.is_final && e.text).length >= SENTENCES.length && messages.length >= SENTENCES.length);

  const finals = heard.filter((e) => e.is_final && e.text);
  const partials = heard.filter((e) => !e.is_final);
  assert.ok(partials.length >= 1, `partials while speaking: ${JSON.stringify(heard)}`);
  assert.equal(finals.length, SENTENCES.length, `one final per sentence: ${JSON.stringify(finals)}`);
  const wer = wordErrorRate(SENTENCES.join(' '), finals.map((f) => f.text).join(' '));
  console.log(`# streamed WER ${wer.toFixed(3)}: ${finals.map((f) => f.text).join(' | ')}`);
  assert.ok(wer <= MAX_WER, `WER ${wer} over ${MAX_WER}`);
  // Every partial of an utterance comes before its final; times are ordered.
  const firstFinal = heard.indexOf(finals[0]);
  assert.ok(heard.findIndex((e) => !e.is_final) < firstFinal);
  for (const f of finals) {
    assert.equal(f.stream_id, 's1');
    assert.equal(f.speaker.id, speaker.user.id);
    assert.equal(f.language, 'en-US');
    assert.ok(f.end_ms > f.start_ms && f.start_ms >= 0, JSON.stringify(f));
    assert.ok(Number.isInteger(f.message_id));
  }
  assert.ok(finals[1].start_ms >= finals[0].end_ms, 'the utterances do not overlap');
  // Each final is a stored `speech` message, delivered like text, with its recording.
  assert.equal(messages.length, SENTENCES.length);
  for (const [i, m] of messages.entries()) {
    assert.equal(m.kind, 'speech');
    assert.equal(m.id, finals[i].message_id);
    assert.equal(m.text, finals[i].text);
    assert.match(m.audio_url, /\/api\/audio\/[0-9a-f]{32}\.wav$/);
  }
  const history = await parley.api('/api/get-chatroom-messages', { token: listener.user.token, body: { chatroom_id: room } });
  assert.equal(history.status, 200);
  assert.equal(history.body.messages.filter((m) => m.kind === 'speech').length, SENTENCES.length);

  // The recording plays for members only; others get 404 (no probing of private media).
  const path = new URL(messages[0].audio_url).pathname;
  const own = await fetch(parley.base + path, { headers: { Authorization: `Bearer ${listener.user.token}` } });
  assert.equal(own.status, 200);
  assert.equal(own.headers.get('content-type'), 'audio/wav');
  assert.match(own.headers.get('content-disposition'), /^attachment/);
  const wav = Buffer.from(await own.arrayBuffer());
  assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
  assert.ok(wav.length > 16000, 'the utterance audio is kept');
  const stranger = await parley.register('stranger');
  const refused = await fetch(parley.base + path, { headers: { Authorization: `Bearer ${stranger.token}` } });
  assert.equal(refused.status, 404);
  assert.equal((await fetch(parley.base + path)).status, 401);
  const traversal = await fetch(parley.base + '/api/audio/..%2f..%2fparley.db', { headers: { Authorization: `Bearer ${listener.user.token}` } });
  assert.equal(traversal.status, 404);
});

test('raw pcm16 at 48 kHz is resampled and transcribed (goforward recording)', async () => {
  const speaker = await memberSocket('pcmspeaker');
  const room = await roomWith(speaker);
  const heard = collectTranscriptions(speaker.socket);
  const pcm = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i',
    '/usr/share/pocketsphinx/test/data/goforward.raw', '-af', 'apad=pad_dur=1', '-ar', '48000', '-f', 's16le', '-'], { maxBuffer: 1 << 24 });
  const started = await call(speaker.socket, 'audio_stream', { action: 'start', stream_id: 'p', room, codec: 'pcm16', sample_rate: 48000, language: 'en' });
  assert.equal(started.error, undefined, JSON.stringify(started));
  for (const piece of chunksOf(pcm, 9600)) {
    const ack = await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'p' }, 5000, piece);
    assert.equal(ack.error, undefined, JSON.stringify(ack));
  }
  const closed = next(speaker.socket, 'audio_stream_closed', 20000);
  await call(speaker.socket, 'audio_stream', { action: 'stop', stream_id: 'p' });
  await closed;
  const text = heard.filter((e) => e.is_final).map((e) => e.text).join(' ');
  const wer = wordErrorRate('go forward ten meters', text);
  console.log(`# goforward at 48 kHz: "${text}" WER ${wer.toFixed(2)}`);
  assert.ok(wer <= 0.25, `WER ${wer}: ${text}`);
});

test('a pocketsphinx-testdata recording streamed as webm/opus chunks', async () => {
  const speaker = await memberSocket('testdataspeaker');
  const room = await roomWith(speaker);
  const heard = collectTranscriptions(speaker.socket);
  const webm = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i',
    '/usr/share/pocketsphinx/test/data/goforward.raw', '-af', 'apad=pad_dur=1', '-c:a', 'libopus', '-f', 'webm',
    '-live', '1', '-cluster_time_limit', '250', '-'], { maxBuffer: 1 << 24 });
  assert.equal((await call(speaker.socket, 'audio_stream', { action: 'start', stream_id: 't', room, codec: 'webm-opus', language: 'en' })).engine, 'pocketsphinx');
  for (const piece of chunksOf(webm, 4096)) {
    const ack = await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 't' }, 5000, piece);
    assert.equal(ack.error, undefined, JSON.stringify(ack));
  }
  const closed = next(speaker.socket, 'audio_stream_closed', 20000);
  await call(speaker.socket, 'audio_stream', { action: 'stop', stream_id: 't' });
  await closed;
  const text = heard.filter((e) => e.is_final).map((e) => e.text).join(' ');
  const wer = wordErrorRate('go forward ten meters', text);
  console.log(`# goforward as webm/opus: "${text}" WER ${wer.toFixed(2)}`);
  assert.ok(wer <= 0.25, `WER ${wer}: ${text}`);
});

test('bad streams get clear errors and nothing is stored', async () => {
  const speaker = await memberSocket('badspeaker');
  const outsider = await memberSocket('outsider');
  const room = await roomWith(speaker);
  const start = (socket, body) => call(socket, 'audio_stream', { action: 'start', room, codec: 'webm-opus', ...body });
  const closed = [];
  speaker.socket.on('audio_stream_closed', (c) => closed.push(c));
  // Not joined to the room.
  assert.equal((await start(outsider.socket, { stream_id: 'x' })).error.code, 'forbidden');
  // Malformed starts.
  assert.equal((await start(speaker.socket, { stream_id: 'x', codec: 'mp4-aac' })).error.code, 'validation_failed');
  assert.equal((await start(speaker.socket, { stream_id: 'x', codec: 'pcm16' })).error.code, 'validation_failed');
  assert.equal((await start(speaker.socket, { stream_id: 'x', codec: 'pcm16', sample_rate: 4000 })).error.code, 'validation_failed');
  assert.equal((await start(speaker.socket, { stream_id: '' })).error.code, 'validation_failed');
  assert.equal((await call(speaker.socket, 'audio_stream', { action: 'sing', stream_id: 'x' })).error.code, 'validation_failed');
  assert.equal((await call(speaker.socket, 'audio_stream', 'start')).error.code, 'validation_failed');
  // A language the embedded engine does not recognize (no cloud key configured): said so.
  const french = await start(speaker.socket, { stream_id: 'fr', language: 'fr' });
  assert.equal(french.error.code, 'unsupported');
  assert.match(french.error.message, /fr/);
  // Chunks for streams that do not exist, or without audio.
  assert.equal((await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'nope' }, 5000, Buffer.alloc(10))).error.code, 'not_found');
  assert.equal((await start(speaker.socket, { stream_id: 'a' })).engine, 'pocketsphinx');
  assert.equal((await start(speaker.socket, { stream_id: 'a' })).error.code, 'conflict');
  assert.equal((await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'a' })).error.code, 'validation_failed');
  // Corrupt audio declared as webm: an audio_error, then the stream closes.
  const failed = next(speaker.socket, 'audio_error', 10000);
  const closedA = next(speaker.socket, 'audio_stream_closed', 10000);
  const garbage = await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'a' }, 5000, Buffer.from('this is not a webm file at all, just text'.repeat(200)));
  assert.equal(garbage.error, undefined, JSON.stringify(garbage));
  await call(speaker.socket, 'audio_stream', { action: 'stop', stream_id: 'a' });
  const error = await failed;
  assert.equal(error.stream_id, 'a');
  assert.equal(error.error.code, 'unsupported_media_type', JSON.stringify(error));
  assert.equal((await closedA).stream_id, 'a');
  // Per-user limit: two open streams, a third is refused.
  assert.equal((await start(speaker.socket, { stream_id: 'b' })).engine, 'pocketsphinx');
  assert.equal((await start(speaker.socket, { stream_id: 'w' })).engine, 'pocketsphinx');
  assert.equal((await start(speaker.socket, { stream_id: 'c' })).error.code, 'rate_limited');
  // Declared webm, sent mp3: refused as the wrong codec.
  const wrongError = next(speaker.socket, 'audio_error', 10000);
  await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'w' }, 5000, readFileSync(speech.mp3));
  await call(speaker.socket, 'audio_stream', { action: 'stop', stream_id: 'w' });
  const wrong = await wrongError;
  assert.equal(wrong.stream_id, 'w');
  assert.equal(wrong.error.code, 'unsupported_media_type');
  // A stream that never stops is closed after PARLEY_STREAM_IDLE_SECONDS (3 s here)...
  const deadline = Date.now() + 10000;
  while (!closed.some((c) => c.stream_id === 'b') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(closed.some((c) => c.stream_id === 'b'), `b closed when idle: ${JSON.stringify(closed)}`);
  // ...and chunks after stop are refused.
  assert.equal((await call(speaker.socket, 'audio_stream', { action: 'chunk', stream_id: 'b' }, 5000, Buffer.alloc(10))).error.code, 'not_found');
  const history = await parley.api('/api/get-chatroom-messages', { token: speaker.user.token, body: { chatroom_id: room } });
  assert.equal(history.body.messages.length, 0, 'nothing was stored');
});

test('an uploaded recording (mp3) is transcribed and posted; bad uploads are refused', async () => {
  const owner = await memberSocket('uploader');
  const listener = await memberSocket('uploadlistener');
  const room = await roomWith(owner, listener);
  const posted = next(listener.socket, 'new_message', 30000);
  const res = await uploadForm(parley.base + '/api/upload-audio', owner.user.token, { room: String(room), language: 'en' }, { name: 'audio', filename: 'voice.mp3', type: 'audio/mpeg', data: readFileSync(speech.mp3) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.message.kind, 'audio');
  const wer = wordErrorRate(SENTENCES.join(' '), res.body.message.text);
  console.log(`# uploaded mp3 WER ${wer.toFixed(3)}: ${res.body.message.text}`);
  assert.ok(wer <= MAX_WER, `WER ${wer}`);
  assert.equal((await posted).id, res.body.message.id, 'the room receives it live');

  const form = (fields, file) => uploadForm(parley.base + '/api/upload-audio', owner.user.token, fields, file);
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
  const notAudio = await form({ room: String(room) }, { name: 'audio', filename: 'x.mp3', type: 'audio/mpeg', data: png });
  assert.equal(notAudio.status, 415, JSON.stringify(notAudio.body));
  const html = await form({ room: String(room) }, { name: 'audio', filename: 'x.wav', type: 'audio/wav', data: Buffer.from('<html><script>alert(1)</script></html>') });
  assert.equal(html.status, 415);
  const noFile = await form({ room: String(room) }, null);
  assert.equal(noFile.status, 422);
  const french = await form({ room: String(room), language: 'fr' }, { name: 'audio', filename: 'v.mp3', type: 'audio/mpeg', data: readFileSync(speech.mp3) });
  assert.equal(french.status, 422);
  assert.equal(french.body.error.code, 'unsupported');
  const silence = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '2', '-f', 'wav', '-'], { maxBuffer: 1 << 24 });
  const quiet = await form({ room: String(room) }, { name: 'audio', filename: 's.wav', type: 'audio/wav', data: silence });
  assert.equal(quiet.status, 422, 'silence is not turned into made-up text');
  const stranger = await parley.register('uploadstranger');
  const outsider = await uploadForm(parley.base + '/api/upload-audio', stranger.token, { room: String(room) }, { name: 'audio', filename: 'v.mp3', type: 'audio/mpeg', data: readFileSync(speech.mp3) });
  assert.equal(outsider.status, 403);
  // Over PARLEY_MAX_UPLOAD_BYTES: refused from Content-Length, before the body is read.
  assert.equal(await postStatus(parley.base + '/api/upload-audio', owner.user.token, 3 * 1024 * 1024), 413);
  const history = await parley.api('/api/get-chatroom-messages', { token: owner.user.token, body: { chatroom_id: room } });
  assert.equal(history.body.messages.length, 1, 'only the good upload was stored');
});

test('text-to-speech: formats by Accept or field, languages, errors', async () => {
  const user = await parley.register('ttsuser');
  const speak = (body, accept) => fetch(parley.base + '/api/tts', {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json', ...(accept ? { Accept: accept } : {}) },
    body: JSON.stringify(body),
  });
  for (const [accept, type, codec] of [['audio/ogg', 'audio/ogg', 'opus'], ['audio/mpeg', 'audio/mpeg', 'mp3'], ['audio/wav', 'audio/wav', 'pcm_s16le']]) {
    const res = await speak({ text: 'Hola, ¿cómo estás?', language: 'es' }, accept);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), type);
    assert.equal(res.headers.get('x-parley-engine'), 'espeak-ng');
    const file = join(work, `tts.${codec}`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const info = ffprobe(file);
    assert.equal(info.codec, codec);
    assert.ok(info.duration > 0.5 && info.duration < 5, `duration ${info.duration}`);
  }
  const byField = await speak({ text: 'bonjour tout le monde', language: 'fr', format: 'mp3' });
  assert.equal(byField.headers.get('content-type'), 'audio/mpeg');
  assert.equal((await speak({ text: 'hello' }, 'text/html')).status, 406);
  assert.equal((await speak({ text: 'hello', language: 'xx-nonexistent' })).status, 422);
  assert.equal((await speak({ text: '' })).status, 422);
  assert.equal((await speak({ text: 'a'.repeat(6000) })).status, 422);
  assert.equal((await speak({ text: 'hello', format: 'flac' })).status, 422);
  assert.equal((await fetch(parley.base + '/api/tts', { method: 'POST', body: '{}' })).status, 401);
});

test('voice reference: consent required, approximate with the embedded engine, deletable', async () => {
  const user = await parley.register('voiceuser');
  const upload = (fields, file) => uploadForm(parley.base + '/api/voice-clone', user.token, fields, file);
  const reference = { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) };
  assert.equal((await upload({}, reference)).status, 422, 'no consent, nothing kept');
  const short = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=200', '-t', '0.5', '-f', 'wav', '-'], { maxBuffer: 1 << 24 });
  assert.equal((await upload({ consent: 'true' }, { ...reference, data: short })).status, 422, 'too little speech');
  const made = await upload({ consent: 'true' }, reference);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.mode, 'approximate', 'the embedded engine never claims a clone');
  assert.equal(made.body.provider, 'espeak-ng');
  assert.equal(made.body.profile.gender, 'female', JSON.stringify(made.body.profile));
  assert.ok(made.body.profile.pitch_hz > 140 && made.body.profile.pitch_hz < 300);
  const got = await parley.api('/api/voice-clone', { method: 'GET', token: user.token });
  assert.equal(got.status, 200);
  assert.equal(got.body.mode, 'approximate');
  const mine = await fetch(parley.base + '/api/tts', { method: 'POST', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'this is my voice', language: 'en', voice: 'me' }) });
  assert.equal(mine.status, 200);
  assert.equal((await parley.api('/api/voice-clone', { method: 'DELETE', token: user.token })).status, 200);
  assert.equal((await parley.api('/api/voice-clone', { method: 'GET', token: user.token })).status, 404);
  const gone = await fetch(parley.base + '/api/tts', { method: 'POST', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'x', voice: 'me' }) });
  assert.equal(gone.status, 404);
  const guest = await parley.api('/api/guest', { body: {} });
  if (guest.status === 201) {
    assert.equal((await uploadForm(parley.base + '/api/voice-clone', guest.body.access_token, { consent: 'true' }, reference)).status, 403);
  }
});

test('listeners who opt in hear messages in their language, in the speaker\'s approximate voice', async () => {
  const speaker = await memberSocket('ttsspeaker');
  const english = await memberSocket('ttsenglish');
  const spanish = await memberSocket('ttsspanish');
  const room = await roomWith(speaker, english, spanish);
  assert.deepEqual(await call(english.socket, 'tts_preferences', { enabled: true, language: 'en', format: 'mp3' }), { enabled: true, language: 'en', format: 'mp3' });
  assert.equal((await call(spanish.socket, 'tts_preferences', { enabled: true, language: 'es' })).format, 'ogg');
  assert.equal((await call(speaker.socket, 'tts_preferences', { enabled: true, language: 'en' })).enabled, true);
  assert.equal((await call(english.socket, 'tts_preferences', { enabled: true, language: 'xx-nope' })).error.code, 'unsupported');
  assert.equal((await call(english.socket, 'tts_preferences', { enabled: true, format: 'flac' })).error.code, 'validation_failed');
  assert.equal((await call(english.socket, 'tts_preferences', {})).error.code, 'validation_failed');

  // The speaker keeps a voice reference: listeners hear the approximation of it.
  const made = await uploadForm(parley.base + '/api/voice-clone', speaker.user.token, { consent: 'true' }, { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(made.status, 201);
  const heard = next(english.socket, 'tts_audio', 15000);
  let spanishHeard = false;
  spanish.socket.on('tts_audio', () => { spanishHeard = true; });
  let speakerHeard = false;
  speaker.socket.on('tts_audio', () => { speakerHeard = true; });
  const sent = await call(speaker.socket, 'send_message', { room, text: 'good morning everyone' });
  const audio = await heard;
  assert.equal(audio.message_id, sent.id);
  assert.equal(audio.language, 'en');
  assert.equal(audio.mime_type, 'audio/mpeg');
  assert.equal(audio.engine, 'espeak-ng');
  assert.equal(audio.voice, 'approximate');
  assert.ok(Buffer.isBuffer(audio.audio) && audio.audio.length > 1000, 'binary audio attached');
  const file = join(work, 'heard.mp3');
  writeFileSync(file, audio.audio);
  assert.equal(ffprobe(file).codec, 'mp3');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(spanishHeard, false, 'English is not spoken to a Spanish listener (translation comes later)');
  assert.equal(speakerHeard, false, 'the sender does not hear their own message');
  // Opting out stops it.
  assert.deepEqual(await call(english.socket, 'tts_preferences', { enabled: false }), { enabled: false });
  let after = false;
  english.socket.on('tts_audio', () => { after = true; });
  await call(speaker.socket, 'send_message', { room, text: 'second message' });
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(after, false);
});
