// A client that stops reading must not slow a room down nor make the server buffer without
// bound: once too much waits for it, the server closes it, and everyone else keeps receiving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startParley, next, call } from './harness.mjs';

let parley;
// A short heartbeat makes a stalled client visible quickly. (Loopback socket buffers absorb
// megabytes, so here the heartbeat, not the byte allowance, ends the stalled client; the byte
// allowance is tested directly in tests/realtime/engineio_session_test.cpp.)
before(async () => {
  parley = await startParley({
    PARLEY_PING_INTERVAL_MS: '1000',
    PARLEY_PING_TIMEOUT_MS: '1000',
    PARLEY_SOCKET_EVENTS_PER_SECOND: '100000',  // the flood is the point here
  });
});
after(async () => { assert.equal(await parley.stop(), 0); });

test('a stalled client is disconnected and does not delay the others', async () => {
  const ana = await parley.register('flow_ana');
  const bob = await parley.register('flow_bob');
  const stalled = await parley.register('flow_stalled');
  const room = (await parley.api('/api/create-chatroom', { token: ana.token, body: { name: 'flood', is_private: false } })).body.chatroom.id;
  for (const user of [bob, stalled]) {
    await parley.api('/api/join-chatroom', { token: user.token, body: { chatroom_id: room } });
  }
  const a = parley.connect(ana.token, { transports: ['websocket'] });
  const b = parley.connect(bob.token, { transports: ['websocket'] });
  await Promise.all([next(a, 'connect'), next(b, 'connect')]);
  await call(a, 'join_room', { room });
  await call(b, 'join_room', { room });

  // The stalled client: a raw WebSocket that joins, then stops reading from its TCP socket.
  const ws = new WebSocket(`ws://127.0.0.1:${parley.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve) => ws.on('open', resolve));
  ws.send(`40${JSON.stringify({ token: stalled.token })}`);
  while (!frames.some((f) => f.startsWith('40{'))) await new Promise((r) => setTimeout(r, 10));
  ws.send(`420${JSON.stringify(['join_room', { room }])}`);
  while (!frames.some((f) => f.startsWith('430'))) await new Promise((r) => setTimeout(r, 10));
  ws._socket.pause();

  const left = new Promise((resolve) => b.on('user_left', (event) => {
    if (event.user?.username === 'flow_stalled') resolve();
  }));
  let received = 0;
  let slowest = 0;
  const sentAt = new Map();
  b.on('new_message', (message) => {
    received += 1;
    const index = Number(message.text.split(' ')[0]);
    slowest = Math.max(slowest, Date.now() - sentAt.get(index));
  });
  const text = 'x'.repeat(4000);
  const total = 300;  // about 1.2 MB for the stalled client
  const started = Date.now();
  for (let i = 0; i < total; i += 1) {
    sentAt.set(i, Date.now());
    const ack = await call(a, 'send_message', { room, text: `${i} ${text}` }, 20000);
    assert.ok(ack.id, JSON.stringify(ack));
  }
  await left;  // the server gave up on the stalled client
  while (received < total && Date.now() - started < 60000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(received, total, 'the reading client got every message');
  assert.ok(slowest < 1000, `a message took ${slowest} ms to reach the reading client`);
  ws.terminate();
});
