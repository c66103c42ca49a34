// Self-test of the OpenAI fake: `node --test tests/fakes/openai.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./openai.mjs', import.meta.url));
let child;
let base;

before(async () => {
  child = spawn(process.execPath, [script], { env: { ...process.env, FAKE_OPENAI_KEY: 'sk-self' } });
  const [chunk] = await once(child.stdout, 'data');
  const match = /^listening (\d+)/.exec(chunk.toString());
  assert.ok(match, `unexpected first line: ${chunk}`);
  base = `http://127.0.0.1:${match[1]}`;
});
after(() => child.kill('SIGTERM'));

function wav(seconds) {
  const samples = Math.round(16000 * seconds);
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0, 'latin1'); b.writeUInt32LE(36 + samples * 2, 4); b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(16000, 24);
  b.writeUInt32LE(32000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1'); b.writeUInt32LE(samples * 2, 40);
  return b;
}

function form(fields, audio = wav(1)) {
  const f = new FormData();
  if (audio) f.append('file', new Blob([audio], { type: 'audio/wav' }), 'audio.wav');
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

async function transcribe(fields, { key = 'sk-self', audio } = {}) {
  const res = await fetch(`${base}/v1/audio/transcriptions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form(fields, audio),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const control = async (path, body) =>
  (await fetch(base + path, body ? { method: 'POST', body: JSON.stringify(body) } : {})).json();

test('transcribes with the scripted text and records the multipart parts', async () => {
  await control('/__reset', {});
  await control('/__script', { transcript: 'hello there' });
  const r = await transcribe({ model: 'whisper-1', language: 'en', response_format: 'json' });
  assert.equal(r.status, 200);
  assert.equal(r.body.text, 'hello there');
  const [recorded] = await control('/__requests');
  assert.equal(recorded.method, 'POST');
  assert.equal(recorded.path, '/v1/audio/transcriptions');
  assert.equal(recorded.headers.authorization, 'Bearer sk-self');
  assert.deepEqual(recorded.parts.map((p) => p.name), ['file', 'model', 'language', 'response_format']);
  assert.equal(recorded.parts[0].filename, 'audio.wav');
  assert.equal(recorded.parts[0].content_type, 'audio/wav');
  assert.equal(recorded.parts[0].size, 44 + 32000);
  assert.equal(Buffer.from(recorded.parts[0].data_base64, 'base64').toString('latin1', 0, 4), 'RIFF');
  assert.equal(recorded.parts[1].text, 'whisper-1');
});

test('verbose_json reports language, duration and segments', async () => {
  await control('/__reset', {});
  await control('/__script', { detected_language: 'french' });
  const r = await transcribe({ model: 'whisper-1', response_format: 'verbose_json' }, { audio: wav(2) });
  assert.equal(r.status, 200);
  assert.equal(r.body.language, 'french');
  assert.equal(r.body.duration, 2);
  assert.equal(r.body.segments.length, 1);
});

test('errors use the OpenAI envelope', async () => {
  await control('/__reset', {});
  let r = await transcribe({ model: 'whisper-1' }, { key: 'sk-wrong-000000' });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'invalid_api_key');
  assert.ok(!r.body.error.message.includes('sk-wrong-000000'));
  r = await transcribe({});
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'model');
  r = await transcribe({ model: 'whisper-1' }, { audio: null });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'file');
  r = await transcribe({ model: 'whisper-1', language: 'english' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'language');
  r = await transcribe({ model: 'whisper-1' }, { audio: wav(0.05) });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /too short/);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in r.body.error, k);
});

test('scripted replies are consumed in order, then normal answers resume', async () => {
  await control('/__reset', {});
  await control('/__script', { responses: [{ status: 429, headers: { 'retry-after': '1' } }, { status: 500 }] });
  const first = await transcribe({ model: 'whisper-1' });
  assert.equal(first.status, 429);
  assert.equal(first.headers.get('retry-after'), '1');
  assert.equal((await transcribe({ model: 'whisper-1' })).status, 500);
  assert.equal((await transcribe({ model: 'whisper-1' })).status, 200);
  assert.equal((await control('/__requests')).length, 3);
});

test('chat completions answer minimally', async () => {
  await control('/__reset', {});
  await control('/__script', { completion: 'Bonjour' });
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: 'Bearer sk-self', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0].message.content, 'Bonjour');
  assert.equal(body.choices[0].finish_reason, 'stop');
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  const [recorded] = await control('/__requests');
  assert.equal(typeof recorded.received_at, 'number');
  assert.ok(Math.abs(recorded.received_at - Date.now()) < 5000);
});

test('chat completions refuse bad roles and temperatures', async () => {
  await control('/__reset', {});
  const post = async (body) => (await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: 'Bearer sk-self', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })).json();
  let r = await post({ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'Hi' }] });
  assert.equal(r.error.param, 'messages[0].role');
  r = await post({ model: 'gpt-4o-mini', temperature: 3, messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(r.error.param, 'temperature');
  r = await post({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(r.choices[0].message.content, 'This is the fake completion.');
});
