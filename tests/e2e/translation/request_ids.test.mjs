// One request id ties a socket event, the translation jobs it caused and their log lines
// together: on stdout (JSON lines) and in the debug_log table, read back by an administrator
// through GET /api/admin/logs?request_id=...
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, call } from '../realtime/harness.mjs';

let parley;
before(async () => {
  parley = await startParley({
    LOG_LEVEL: 'DEBUG',
    PARLEY_DEBUG_LOG_LEVEL: 'DEBUG',
    PARLEY_ADMIN_EMAILS: 'ops@example.test',
    PARLEY_TRANSLATION_ENGINE: 'apertium',
  });
});
after(async () => { assert.equal(await parley.stop(), 0); });

async function register(name, language) {
  const res = await parley.api('/api/register', {
    body: { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase', preferred_language: language },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token, name };
}

test('a socket event\'s request id reaches the jobs it caused and the debug_log table', async () => {
  const ops = await register('ops', 'en');
  const ana = await register('ana', 'en');
  const bruno = await register('bruno', 'es');
  const room = (await parley.api('/api/create-chatroom', { token: ana.token, body: { name: 'ids', is_private: false } })).body.chatroom.id;
  await parley.api('/api/join-chatroom', { token: bruno.token, body: { chatroom_id: room } });
  const a = parley.connect(ana.token, { transports: ['websocket'] });
  const b = parley.connect(bruno.token, { transports: ['websocket'] });
  await Promise.all([next(a, 'connect'), next(b, 'connect')]);
  await call(a, 'join_room', { room });  // event 1 of ana's socket
  // bruno is offline for the room's live delivery preview: his Spanish copy is queued.
  const ack = await call(a, 'send_message', { room, text: 'The weather is very nice today in the city.' });  // event 2
  const requestId = `${a.id}:2`;

  const deadline = Date.now() + 15000;
  const linesOf = () => parley.logs.filter((line) => line.request_id === requestId).map((line) => line.event);
  while (!linesOf().includes('translation_job_done') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const events = linesOf();
  assert.ok(events.includes('socket_event'), JSON.stringify(events));
  assert.ok(events.includes('translation_job_started'), JSON.stringify(events));
  assert.ok(events.includes('translation_job_done'), JSON.stringify(events));
  const done = parley.logs.find((line) => line.request_id === requestId && line.event === 'translation_job_done');
  assert.equal(done.message_id, ack.id);

  // The same lines in the debug_log table, for an administrator only.
  let rows = [];
  while (Date.now() < deadline + 5000) {
    const res = await parley.api(`/api/admin/logs?request_id=${encodeURIComponent(requestId)}`, { method: 'GET', token: ops.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    rows = res.body.logs;
    if (rows.some((row) => row.source === 'translation_job_done')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const sources = rows.map((row) => row.source);
  assert.ok(sources.includes('socket_event') && sources.includes('translation_job_done'), JSON.stringify(sources));
  const refused = await parley.api(`/api/admin/logs?request_id=${encodeURIComponent(requestId)}`, { method: 'GET', token: ana.token });
  assert.equal(refused.status, 403);
  b.disconnect();
  a.disconnect();
});
