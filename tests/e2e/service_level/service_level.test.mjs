// Caption lag as a service level (issue 11), through the real server with the embedded engines
// (pocketsphinx, Apertium, espeak-ng) and the stock socket.io-client. Three rooms each have a
// speaker streaming speech in real time, an English reader and a Spanish listener who chose the
// speaker's voice. The caption-lag target is set below what live speech can meet (the end of an
// utterance is only known after 300 ms of silence), so this load is past capacity: the server
// steps down (cloned voice -> neutral voice -> captions -> original text), tells every room,
// refuses a new stream as busy, keeps every room's captions flowing, holds back translations
// without losing them, and steps back up once the streams stop. Events, the room info and
// /metrics show it all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startParley, next, nextWhere, call } from '../realtime/harness.mjs';
import { makeSpeech, uploadForm } from '../speech/speech_tools.mjs';

const TOKEN = 'e2e-metrics-token-service-level';
const ROOMS = 3;
const LEVELS_DOWN = ['neutral_voice', 'captions', 'original_text'];
const LEVELS_UP = ['captions', 'neutral_voice', 'full'];

let parley;
let work;
let pcm;       // the speech, 16 kHz mono 16-bit
let reference; // a voice reference recording
const rooms = [];  // {id, speaker, reader, listener: {user, socket, heard}}

/** The samples of a PCM WAV file (the "data" chunk). */
function wavData(file) {
  const wav = readFileSync(file);
  for (let at = 12; at + 8 <= wav.length;) {
    const id = wav.toString('latin1', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'data') return wav.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  throw new Error(`no data chunk in ${file}`);
}

function listen(socket) {
  const heard = { levels: [], messages: [], transcriptions: [], results: [], tts: [] };
  socket.on('service_level', (e) => heard.levels.push({ ...e, at: Date.now() }));
  socket.on('new_message', (m) => heard.messages.push({ ...m, at: Date.now() }));
  socket.on('audio_transcription', (e) => { if (e.is_final) heard.transcriptions.push({ ...e, at: Date.now() }); });
  socket.on('translation_result', (r) => heard.results.push({ ...r, at: Date.now() }));
  socket.on('tts_audio', (a) => heard.tts.push({ ...a, at: Date.now() }));
  return heard;
}

async function member(name, language, room) {
  const user = await parley.register(name, language);
  if (room !== undefined) {
    const joined = await parley.api('/api/join-chatroom', { token: user.token, body: { chatroom_id: room } });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
  }
  return user;
}

async function online(user, room) {
  const socket = parley.connect(user.token, { transports: ['websocket'] });
  await next(socket, 'connect');
  const heard = listen(socket);
  const joined = await call(socket, 'join_room', { room });
  assert.equal(joined.ok, true, JSON.stringify(joined));
  return { user, socket, heard, joined };
}

/** Level names in the order the socket was told them. */
const levelsOf = (heard) => heard.levels.map((e) => e.level);

async function until(check, what, ms) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Streams the speech in real time (100 ms chunks every 100 ms), over and over, until `stop()`
 * or `maxMs`; a chunk refused because recognition is behind is sent again a little later.
 */
function streamLive(socket, room, streamId, maxMs) {
  let stopping = false;
  const done = (async () => {
    const started = await call(socket, 'audio_stream', { action: 'start', stream_id: streamId, room, codec: 'pcm16', sample_rate: 16000, language: 'en' });
    assert.equal(started.error, undefined, JSON.stringify(started));
    const chunk = 3200;
    const began = Date.now();
    let sent = 0;
    for (let offset = 0; !stopping && Date.now() - began < maxMs; offset = (offset + chunk) % (pcm.length - chunk)) {
      const piece = pcm.subarray(offset, offset + chunk);
      for (;;) {
        const ack = await call(socket, 'audio_stream', { action: 'chunk', stream_id: streamId }, 5000, piece);
        if (ack.error === undefined) break;
        assert.equal(ack.error.code, 'rate_limited', JSON.stringify(ack));
        await new Promise((r) => setTimeout(r, 200));
      }
      sent += 1;
      const due = began + sent * 100;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const closed = next(socket, 'audio_stream_closed', 60000);
    await call(socket, 'audio_stream', { action: 'stop', stream_id: streamId });
    await closed;
  })();
  return { stop() { stopping = true; return done; }, done };
}

async function metrics() {
  const res = await fetch(`${parley.base}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  const all = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  all.text = text;  // the parser keeps no labels for histograms: those are read from the text
  return all;
}

function series(all, name, labels = {}) {
  const family = all.get(name);
  if (!family) return [];
  return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-service-level-e2e-'));
  const speech = makeSpeech(work, ['hello how are you doing today', 'the weather is nice this morning']);
  pcm = wavData(speech.wav);
  reference = readFileSync(speech.reference);
  parley = await startParley({
    PARLEY_METRICS_TOKEN: TOKEN,
    PARLEY_CAPTION_LAG_TARGET_MS: '200',
    PARLEY_DEGRADE_AFTER_MS: '1500',
    PARLEY_RECOVER_AFTER_MS: '3000',
    PARLEY_MAX_SPEECH_STREAMS: '8',
    PARLEY_SPEECH_THREADS: '2',
  });
  for (let i = 0; i < ROOMS; i++) {
    const speaker = await member(`speaker${i}`, 'en');
    const created = await parley.api('/api/create-chatroom', { token: speaker.token, body: { name: `busy ${i}`, is_private: false } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.chatroom.id;
    const made = await uploadForm(parley.base + '/api/voice-clone', speaker.token, { consent: 'true' },
      { name: 'audio', filename: 'me.wav', type: 'audio/wav', data: reference });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const entry = {
      id,
      speaker: await online(speaker, id),
      reader: await online(await member(`reader${i}`, 'en', id), id),
      listener: await online(await member(`listener${i}`, 'es', id), id),
    };
    assert.equal(entry.reader.joined.service_level, 'full', 'join_room says the level of service');
    const chosen = await call(entry.listener.socket, 'set_voice_mode', { room: id, mode: 'cloned' });
    assert.equal(chosen.mode, 'cloned', JSON.stringify(chosen));
    rooms.push(entry);
  }
});

after(async () => {
  assert.equal(await parley.stop(), 0);
  rmSync(work, { recursive: true, force: true });
});

test('past capacity the server steps down, tells every room, refuses new streams, and steps back up when the load is gone', { timeout: 240000 }, async () => {
  const streams = rooms.map((room, i) => streamLive(room.speaker.socket, room.id, `load${i}`, 120000));
  const everyone = rooms.flatMap((room) => [room.speaker, room.reader, room.listener]);

  // Down, one step at a time, each told to every member of every room (with the reason).
  await until(() => everyone.every((m) => levelsOf(m.heard).length >= 3), 'three steps down in every room', 100000);
  for (const [i, room] of rooms.entries()) {
    for (const m of [room.speaker, room.reader, room.listener]) {
      const told = m.heard.levels.slice(0, 3);
      assert.deepEqual(told.map((e) => e.level), LEVELS_DOWN, `room ${i}`);
      assert.deepEqual(told.map((e) => e.previous), ['full', ...LEVELS_DOWN.slice(0, 2)]);
      for (const e of told) {
        assert.equal(e.room, room.id);
        // Late captions, or recognition already behind real time (which makes them late).
        assert.ok(['caption_lag', 'speech_backlog'].includes(e.reason), JSON.stringify(e));
        assert.equal(e.target_ms, 200);
      }
    }
  }
  const lowestAt = Math.max(...everyone.map((m) => m.heard.levels[2].at));

  // A new stream beyond capacity: a clear "busy", not a slower server for everyone.
  const late = await online(await member('latecomer', 'en', rooms[0].id), rooms[0].id);
  assert.equal(late.joined.service_level, 'original_text');
  const refused = await call(late.socket, 'audio_stream', { action: 'start', stream_id: 'late', room: rooms[0].id, codec: 'pcm16', sample_rate: 16000, language: 'en' });
  assert.equal(refused.error?.code, 'busy', JSON.stringify(refused));
  assert.ok(refused.error.retry_after_ms > 0);

  // Original text only: a typed line reaches the Spanish listener in English at once, its
  // translation waits (queued, not lost).
  const typedReached = nextWhere(rooms[0].listener.socket, 'new_message', (m) => m.kind === 'text', 15000);
  const sent = await call(late.socket, 'send_message', { room: rooms[0].id, text: 'good morning everybody, the meeting starts now' });
  assert.equal(sent.error, undefined, JSON.stringify(sent));
  const typed = await typedReached;
  assert.equal(typed.translation, undefined);
  assert.equal(typed.text, 'good morning everybody, the meeting starts now');

  // No room stalls: captions keep coming in every room at the lowest level.
  await until(() => rooms.every((room) => room.reader.heard.transcriptions.some((t) => t.at > lowestAt)), 'captions in every room at the lowest level', 30000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(rooms[0].listener.heard.results.filter((r) => r.message_id === typed.id).length, 0, 'no translation while original text only');

  const busy = await parley.api(`/api/chatrooms/${rooms[0].id}`, { method: 'GET', token: rooms[0].reader.user.token });
  assert.equal(busy.status, 200);
  assert.equal(busy.body.live.service_level, 'original_text');
  const during = await metrics();
  assert.equal(Number(series(during, 'parley_service_level')[0].value), 3);

  // The load goes away: back up, one step at a time, told to every room.
  await Promise.all(streams.map((s) => s.stop()));
  await until(() => everyone.every((m) => levelsOf(m.heard).length >= 6), 'three steps up in every room', 60000)
    .catch((e) => {
      const changes = parley.logs.filter((l) => l.event === 'service_level_changed');
      throw new Error(`${e.message}: ${JSON.stringify(everyone.map((m) => levelsOf(m.heard)))} ${JSON.stringify(changes)}`);
    });
  for (const m of everyone) {
    const up = m.heard.levels.slice(3, 6);
    assert.deepEqual(up.map((e) => e.level), LEVELS_UP);
    assert.ok(up.every((e) => e.reason === 'recovered'));
  }
  // The held-back translation follows once translation resumes: nothing was lost.
  const translated = await nextWhere(rooms[0].listener.socket, 'translation_result', (r) => r.message_id === typed.id, 30000)
    .catch(() => rooms[0].listener.heard.results.find((r) => r.message_id === typed.id));
  assert.ok(translated?.text, 'the translation arrives after recovery');
  assert.equal(translated.language, 'es');
  const resumedAt = rooms[0].listener.heard.levels[3].at;
  assert.ok(rooms[0].listener.heard.results.find((r) => r.message_id === typed.id).at >= resumedAt - 50);

  // What each step did to the Spanish listeners who chose the speaker's voice.
  const allTts = rooms.flatMap((room) => room.listener.heard.tts);
  const at = (level) => Math.min(...rooms.map((room) => room.listener.heard.levels.find((e) => e.level === level).at));
  const neutralAt = at('neutral_voice');
  const captionsAt = at('captions');
  assert.ok(allTts.every((a) => a.synthetic === true));
  // (voice_modes_e2e shows the consented voice at full service.) Once degraded, the speaker's
  // voice is not made any more: only synthesis already under way may still end in it.
  assert.deepEqual(allTts.filter((a) => a.voice === 'approximate' && a.at > neutralAt + 6000), []);
  for (const a of allTts.filter((a) => a.voice_fallback === 'server_busy')) {
    assert.equal(a.voice, 'default', 'shed to a neutral voice');
    assert.ok(a.at >= neutralAt, 'only once degraded');
  }
  // Below neutral voice nothing is synthesized: only speech already in synthesis may still arrive.
  const recoveredAt = Math.min(...rooms.map((room) => room.listener.heard.levels[4].at));  // back to neutral_voice
  const spokenBetween = allTts.filter((a) => a.at > captionsAt + 6000 && a.at < recoveredAt);
  assert.deepEqual(spokenBetween, [], 'no synthesized speech at captions and below');

  // Caption lag per room and listening language, in the room info and in /metrics.
  for (const room of rooms) {
    const info = await parley.api(`/api/chatrooms/${room.id}`, { method: 'GET', token: room.reader.user.token });
    assert.equal(info.status, 200);
    const live = info.body.live;
    assert.equal(live.service_level, 'full');
    assert.equal(live.caption_lag_target_ms, 200);
    for (const language of ['en', 'es']) {
      const lag = live.caption_lag[language];
      assert.ok(lag && lag.samples > 0, `${language} lag in room ${room.id}: ${JSON.stringify(live)}`);
      assert.ok(lag.p50_ms > 0 && lag.p95_ms >= lag.p50_ms, JSON.stringify(lag));
    }
  }
  const after = await metrics();
  assert.equal(Number(series(after, 'parley_service_level')[0].value), 0);
  for (const level of [...LEVELS_DOWN, 'full']) {
    assert.ok(Number(series(after, 'parley_service_level_changes_total', { level })[0]?.value) >= 1, level);
  }
  for (const room of rooms) {
    for (const language of ['en', 'es']) {
      const [p50] = series(after, 'parley_caption_lag_p50_seconds', { room: String(room.id), language });
      const [p95] = series(after, 'parley_caption_lag_p95_seconds', { room: String(room.id), language });
      assert.ok(p50 && p95 && Number(p95.value) >= Number(p50.value) && Number(p50.value) > 0, `${room.id} ${language}`);
    }
  }
  for (const language of ['en', 'es']) {
    const count = after.text.match(new RegExp(`^parley_caption_lag_seconds_count\\{language="${language}"\\} (\\d+)$`, 'm'));
    assert.ok(count && Number(count[1]) > 0, `histogram of ${language} captions`);
  }

  // Recovered: a new stream is welcome again.
  const welcome = await call(late.socket, 'audio_stream', { action: 'start', stream_id: 'welcome', room: rooms[0].id, codec: 'pcm16', sample_rate: 16000, language: 'en' });
  assert.equal(welcome.error, undefined, JSON.stringify(welcome));
  await call(late.socket, 'audio_stream', { action: 'stop', stream_id: 'welcome' });
});
