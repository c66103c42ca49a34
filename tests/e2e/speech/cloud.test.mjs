// The cloud engines through Parley, against local fakes of OpenAI and ElevenLabs written from
// their public API descriptions (tests/fakes/): which engine serves which language, what Parley
// sends them field by field, and how their failures reach the user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParley, next, call } from '../realtime/harness.mjs';
import { startFake } from '../fake_services.mjs';
import { makeSpeech, chunksOf, collectTranscriptions, uploadForm } from './speech_tools.mjs';

let openai;
let elevenlabs;
let parley;
let work;
let speech;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-cloud-e2e-'));
  speech = makeSpeech(work, ['good evening', 'see you tomorrow']);
  openai = await startFake('tests/fakes/openai.mjs');
  elevenlabs = await startFake('tests/fakes/elevenlabs.mjs');
  parley = await startParley({
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${openai.base}/v1`,
    ELEVENLABS_API_KEY: 'el-test',
    ELEVENLABS_BASE_URL: elevenlabs.base,
    PARLEY_TTS_ENGINE: 'elevenlabs',
  });
});
after(async () => {
  assert.equal(await parley.stop(), 0);
  openai.stop();
  elevenlabs.stop();
  rmSync(work, { recursive: true, force: true });
});

async function speakerInRoom(name) {
  const user = await parley.register(name);
  const socket = parley.connect(user.token, { transports: ['websocket'] });
  await next(socket, 'connect');
  const res = await parley.api('/api/create-chatroom', { token: user.token, body: { name: `${name} room`, is_private: false } });
  const room = res.body.chatroom.id;
  assert.equal((await call(socket, 'join_room', { room })).ok, true);
  return { user, socket, room };
}

async function stream(socket, room, id, language) {
  const started = await call(socket, 'audio_stream', { action: 'start', stream_id: id, room, codec: 'webm-opus', language });
  assert.equal(started.error, undefined, JSON.stringify(started));
  for (const piece of chunksOf(readFileSync(speech.webm), 4096)) {
    const ack = await call(socket, 'audio_stream', { action: 'chunk', stream_id: id }, 5000, piece);
    assert.equal(ack.error, undefined, JSON.stringify(ack));
  }
  const closed = next(socket, 'audio_stream_closed', 20000);
  await call(socket, 'audio_stream', { action: 'stop', stream_id: id });
  await closed;
  return started;
}

test('French speech goes to the OpenAI-compatible engine; English stays embedded', async () => {
  await openai.reset();
  await openai.script({ transcript: 'bonsoir à demain' });
  const { socket, room } = await speakerInRoom('francophone');
  const heard = collectTranscriptions(socket);
  const started = await stream(socket, room, 'fr1', 'fr');
  assert.equal(started.engine, 'openai');
  assert.equal(started.partials, false);
  const finals = heard.filter((e) => e.is_final);
  assert.equal(finals.length, 2, 'one request per utterance');
  for (const f of finals) {
    assert.equal(f.text, 'bonsoir à demain');
    assert.equal(f.engine, 'openai');
    assert.equal(f.language, 'fr');
  }
  const requests = (await openai.requests()).filter((r) => r.path === '/v1/audio/transcriptions');
  assert.equal(requests.length, 2);
  for (const r of requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers.authorization, 'Bearer sk-test');
    assert.match(r.headers['content-type'], /^multipart\/form-data; boundary=/);
    const part = (name) => r.parts.find((p) => p.name === name);
    assert.equal(part('model').text, 'whisper-1');
    assert.equal(part('language').text, 'fr');
    assert.equal(part('file').filename, 'audio.wav');
    assert.equal(part('file').content_type, 'audio/wav');
    // 16 kHz mono 16-bit: an utterance of roughly a second is tens of kilobytes.
    assert.ok(part('file').size > 16000 && part('file').size < 400000, `file size ${part('file').size}`);
  }
  const english = await stream(socket, room, 'en1', 'en');
  assert.equal(english.engine, 'pocketsphinx', 'auto keeps English on the embedded engine');
});

test('OpenAI failures: 429 is retried, a rejected key is a clear 503', async () => {
  const { user, room } = await speakerInRoom('retrier');
  const upload = () => uploadForm(parley.base + '/api/upload-audio', user.token, { room: String(room), language: 'de' }, { name: 'audio', filename: 'v.mp3', type: 'audio/mpeg', data: readFileSync(speech.mp3) });
  await openai.reset();
  await openai.script({ transcript: 'guten abend', responses: [{ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } }] });
  const ok = await upload();
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.match(ok.body.message.text, /guten abend/);
  assert.ok((await openai.requests()).length >= 3, 'the 429 was retried');
  await openai.reset();
  const unauthorized = { status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
  await openai.script({ responses: [unauthorized, unauthorized, unauthorized, unauthorized] });
  const refused = await upload();
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.doesNotMatch(JSON.stringify(refused.body), /sk-test/, 'the key never leaks');
  await openai.reset();
});

test('ElevenLabs: synthesis, a consented clone, speaking in it, and deleting it', async () => {
  const user = await parley.register('cloner');
  await elevenlabs.reset();
  const tts = await fetch(parley.base + '/api/tts', { method: 'POST', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json', Accept: 'audio/mpeg' }, body: JSON.stringify({ text: 'hello from the cloud', language: 'en' }) });
  assert.equal(tts.status, 200);
  assert.equal(tts.headers.get('x-parley-engine'), 'elevenlabs');
  assert.equal(tts.headers.get('content-type'), 'audio/mpeg');
  let [r] = await elevenlabs.requests();
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM');
  assert.equal(r.headers['xi-api-key'], 'el-test');
  assert.match(r.query.output_format, /^mp3_/);
  const body = JSON.parse(r.body);
  assert.equal(body.text, 'hello from the cloud');
  assert.equal(body.model_id, 'eleven_multilingual_v2');

  await elevenlabs.reset();
  const made = await uploadForm(parley.base + '/api/voice-clone', user.token, { consent: 'true', name: 'My voice' }, { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.mode, 'clone');
  assert.equal(made.body.provider, 'elevenlabs');
  const voiceId = made.body.voice_id;
  assert.ok(voiceId);
  [r] = await elevenlabs.requests();
  assert.equal(r.path, '/v1/voices/add');
  const name = r.parts.find((p) => p.name === 'name');
  assert.equal(name.text, 'My voice');
  const files = r.parts.filter((p) => p.name === 'files');
  assert.equal(files.length, 1);
  assert.equal(files[0].content_type, 'audio/wav');
  assert.ok(files[0].size > 32000);

  // (no reset here: the fake's reset forgets cloned voices)
  const mine = await fetch(parley.base + '/api/tts', { method: 'POST', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'in my own voice', language: 'en', voice: 'me', format: 'ogg' }) });
  assert.equal(mine.status, 200, await mine.clone().text());
  assert.equal(mine.headers.get('content-type'), 'audio/ogg');
  r = (await elevenlabs.requests()).at(-1);
  assert.equal(r.path, `/v1/text-to-speech/${voiceId}`);
  assert.equal(r.query.output_format, 'pcm_22050', 'ogg is encoded locally from PCM');

  assert.equal((await parley.api('/api/voice-clone', { method: 'DELETE', token: user.token })).status, 200);
  r = (await elevenlabs.requests()).at(-1);
  assert.equal(r.method, 'DELETE');
  assert.equal(r.path, `/v1/voices/${voiceId}`);

  // Listeners who opt in hear this user's messages in the cloned voice, kept on disk as well.
  const res = await parley.api('/api/create-chatroom', { token: user.token, body: { name: 'clone room', is_private: false } });
  const room = res.body.chatroom.id;
  const listener = await parley.register('clonelistener');
  assert.equal((await parley.api('/api/join-chatroom', { token: listener.token, body: { chatroom_id: room } })).status, 200);
  const speakerSocket = parley.connect(user.token, { transports: ['websocket'] });
  const listenerSocket = parley.connect(listener.token, { transports: ['websocket'] });
  await Promise.all([next(speakerSocket, 'connect'), next(listenerSocket, 'connect')]);
  assert.equal((await call(speakerSocket, 'join_room', { room })).ok, true);
  assert.equal((await call(listenerSocket, 'join_room', { room })).ok, true);
  const again0 = await uploadForm(parley.base + '/api/voice-clone', user.token, { consent: 'true' }, { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(again0.status, 201);
  assert.equal((await call(listenerSocket, 'tts_preferences', { enabled: true, language: 'en', format: 'mp3' })).enabled, true);
  const heard = next(listenerSocket, 'tts_audio', 15000);
  const sent = await call(speakerSocket, 'send_message', { room, text: 'hello in my own voice' });
  const audio = await heard;
  assert.equal(audio.message_id, sent.id);
  assert.equal(audio.voice, 'clone');
  assert.equal(audio.engine, 'elevenlabs');
  assert.ok(Buffer.isBuffer(audio.audio) && audio.audio.length > 500);
  r = (await elevenlabs.requests()).at(-1);
  assert.equal(r.path, `/v1/text-to-speech/${again0.body.voice_id}`);
  assert.equal(JSON.parse(r.body).text, 'hello in my own voice');
  speakerSocket.disconnect();
  listenerSocket.disconnect();

  // Deleting the account deletes the clone at the provider too.
  const again = await uploadForm(parley.base + '/api/voice-clone', user.token, { consent: 'true' }, { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: readFileSync(speech.reference) });
  assert.equal(again.status, 201);
  const gone = await parley.api('/api/delete-account', { token: user.token, body: { password: 'a long e2e passphrase' } });
  assert.equal(gone.status, 200, JSON.stringify(gone.body));
  r = (await elevenlabs.requests()).at(-1);
  assert.equal(r.method, 'DELETE');
  assert.equal(r.path, `/v1/voices/${again.body.voice_id}`);

  // The provider failing: a 500 three times is a clear 503, never audio from somewhere else.
  await elevenlabs.script({ responses: [{ status: 500, body: { detail: { status: 'internal', message: 'boom' } } }, { status: 500 }, { status: 500 }, { status: 500 }] });
  const other = await parley.register('cloner2');
  const failing = await fetch(parley.base + '/api/tts', { method: 'POST', headers: { Authorization: `Bearer ${other.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'x', language: 'en' }) });
  assert.equal(failing.status, 503);
  await elevenlabs.reset();
});
