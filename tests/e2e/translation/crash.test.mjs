// kill -9 with translation jobs queued and in flight: after a restart on the same database every
// job completes and every listener gets each translation exactly once. The engine is the
// OpenAI-compatible one against the local fake (tests/fakes/openai.mjs), slowed down so that the
// crash finds jobs done, running and waiting; one queue worker; a short lease so that the job
// the dead process held runs again soon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParley, next, call } from '../realtime/harness.mjs';
import { startFake } from '../fake_services.mjs';

const SENTENCES = [
  'Good morning, is everyone here for the planning meeting?',
  'The train was late again, so I will join in ten minutes.',
  'Please send me the report before lunch on Friday.',
  'We moved the workshop to the big room on the second floor.',
  'Thank you all for the help with the launch last week.',
  'Remember to bring your laptop and a charger tomorrow.',
];
const DELAY_MS = 500;

let fake;
let folder;
let env;

before(async () => {
  fake = await startFake('tests/fakes/openai.mjs');
  folder = mkdtempSync(join(tmpdir(), 'parley-crash-e2e-'));
  env = {
    DATABASE_URL: `sqlite:///${folder}/parley.db`,
    UPLOAD_DIR: `${folder}/uploads`,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${fake.base}/v1`,
    PARLEY_TRANSLATION_ENGINE: 'openai',
    PARLEY_TRANSLATION_THREADS: '1',
    PARLEY_TRANSLATION_LEASE_MS: '2000',
  };
});
after(() => {
  fake?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function register(parley, name, language) {
  const res = await parley.api('/api/register', {
    body: { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase', preferred_language: language },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token, name, language };
}

/** A listener: its messages, and every translation_result it got per message, over connections. */
function listener(user) {
  return { user, messages: new Map(), results: new Map(), socket: null };
}

async function attach(parley, state, room, afterSeq) {
  const socket = parley.connect(state.user.token);
  await next(socket, 'connect');
  socket.on('new_message', (m) => { if (!state.messages.has(m.id)) state.messages.set(m.id, m); });
  socket.on('translation_result', (r) => {
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.equal(r.language, state.user.language);
    state.results.set(r.message_id, [...(state.results.get(r.message_id) ?? []), r]);
  });
  const joined = await call(socket, 'join_room', { room, after_seq: afterSeq });
  assert.equal(joined.ok, true, JSON.stringify(joined));
  for (const m of joined.missed ?? []) {
    if (!state.messages.has(m.id)) state.messages.set(m.id, m);
    // A settled translation in the catch-up counts as received.
    if (m.translation) state.results.set(m.id, [...(state.results.get(m.id) ?? []), m.translation]);
  }
  state.socket = socket;
  return socket;
}

async function until(condition, what, ms = 60000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const queueStats = (parley) => parley.logs.find((l) => l.event === 'translation_queue');

test('kill -9 with jobs queued and in flight: every job completes, each listener gets each translation once', async () => {
  // Every completion takes DELAY_MS: 12 jobs on one worker take ~6 s.
  await fake.script({ responses: Array.from({ length: 40 }, () => ({ delay_ms: DELAY_MS })) });
  const first = await startParley(env, { folder });
  const alice = await register(first, 'alice', 'en');
  const bob = listener(await register(first, 'bob', 'es'));
  const carme = listener(await register(first, 'carme', 'ca'));
  const room = (await first.api('/api/create-chatroom', { token: alice.token, body: { name: 'crash', is_private: false } })).body.chatroom.id;
  for (const state of [bob, carme]) {
    assert.equal((await first.api('/api/join-chatroom', { token: state.user.token, body: { chatroom_id: room } })).status, 200);
    await attach(first, state, room);
  }
  const sender = first.connect(alice.token);
  await next(sender, 'connect');
  await call(sender, 'join_room', { room });
  const ids = [];
  for (const text of SENTENCES) ids.push((await call(sender, 'send_message', { room, text })).id);
  assert.equal(new Set(ids).size, SENTENCES.length);

  // Some translations delivered, one running, the rest waiting: crash now.
  const delivered = () => [bob, carme].reduce((n, s) => n + s.results.size, 0);
  await until(() => delivered() >= 3, 'three translations before the crash', 30000);
  await first.crash();
  const beforeCrash = delivered();
  assert.ok(beforeCrash < ids.length * 2, 'jobs were left when the server died');

  const second = await startParley(env, { folder });
  try {
    const stats = queueStats(second);
    assert.ok(stats, 'the restarted server reports its queue');
    console.log('queue after restart', JSON.stringify(stats), 'delivered before crash', beforeCrash);
    assert.ok(stats.queued + stats.running >= 1, `unfinished jobs survived the crash: ${JSON.stringify(stats)}`);
    // The clients come back (a new connection: the old process's sessions are gone), catch up on
    // missed messages, and ask for the translations they do not have yet.
    for (const state of [bob, carme]) {
      const lastSeq = Math.max(...[...state.messages.values()].map((m) => m.seq));
      await attach(second, state, room, lastSeq);
      for (const id of ids) {
        if (state.results.has(id)) continue;
        const asked = await call(state.socket, 'request_translation', { message_id: id }, 15000);
        assert.ok(['pending', 'delivered'].includes(asked.status), JSON.stringify(asked));
      }
    }
    await until(() => ids.every((id) => bob.results.has(id) && carme.results.has(id)), 'every translation after the restart');
    // Anything sent twice would arrive within a few job durations.
    await new Promise((r) => setTimeout(r, 3 * DELAY_MS));
    for (const state of [bob, carme]) {
      for (const id of ids) {
        assert.equal(state.results.get(id).length, 1, `${state.user.name} got message ${id}'s translation ${state.results.get(id).length} times`);
      }
    }
    // Every job finished and is stored with its message.
    for (const state of [bob, carme]) {
      const history = await second.api('/api/get-chatroom-messages', { token: state.user.token, body: { chatroom_id: room } });
      for (const id of ids) {
        const stored = history.body.messages.find((m) => m.id === id);
        assert.equal(stored.translation?.language, state.user.language, `message ${id} in ${state.user.language}`);
        assert.equal(stored.translation.engine, 'openai');
      }
    }
    // The engine ran each job once, plus at most the ones in flight at the crash.
    const completions = (await fake.requests()).filter((r) => r.path === '/v1/chat/completions').length;
    assert.ok(completions >= ids.length * 2 && completions <= ids.length * 2 + 2, `${completions} engine calls`);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
