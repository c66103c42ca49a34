// A CONNECT whose transport closes while the server checks its token: nothing may be left
// behind. With the session cache off every check goes to a worker, so the client's close is
// handled while the check is still running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startParley, next, call } from './harness.mjs';

let parley;
before(async () => { parley = await startParley({ PARLEY_SESSION_CACHE_S: '0' }); });
after(async () => { assert.equal(await parley.stop(), 0); });

// Opens a raw Engine.IO WebSocket, sends a Socket.IO CONNECT with `auth` and, when `abandon`,
// drops the TCP connection at once; else resolves with the CONNECT reply.
async function rawConnect(auth, { abandon }) {
  const ws = new WebSocket(`ws://127.0.0.1:${parley.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  while (!frames.some((f) => f.startsWith('0{'))) await new Promise((r) => setTimeout(r, 5));
  ws.send(`40${JSON.stringify(auth)}`);
  if (abandon) {
    ws.terminate();
    return null;
  }
  const deadline = Date.now() + 5000;
  for (;;) {
    const reply = frames.find((f) => f.startsWith('40') || f.startsWith('44'));
    if (reply) {
      ws.terminate();
      return reply;
    }
    if (Date.now() > deadline) throw new Error(`no CONNECT reply: ${JSON.stringify(frames)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a recovering CONNECT abandoned during its check leaves no socket, and the drop stays recoverable', async () => {
  const ana = await parley.register('cc_ana');
  const bob = await parley.register('cc_bob');
  const room = (await parley.api('/api/create-chatroom', { token: ana.token, body: { name: 'cc', is_private: false } })).body.chatroom.id;
  await parley.api('/api/join-chatroom', { token: bob.token, body: { chatroom_id: room } });
  const a = parley.connect(ana.token, { transports: ['websocket'] });
  const b = parley.connect(bob.token, { transports: ['websocket'], reconnection: false });
  await Promise.all([next(a, 'connect'), next(b, 'connect')]);
  await call(a, 'join_room', { room });
  await call(b, 'join_room', { room });
  const received = next(b, 'new_message');
  await call(a, 'send_message', { room, text: 'an event, so that bob has an offset' });
  await received;
  const sid = b.id;
  const recovery = { token: bob.token, pid: b._pid, offset: b._lastOffset };
  assert.ok(recovery.pid && recovery.offset, 'the client holds what recovery needs');

  const left = next(a, 'user_left');
  b.io.engine.transport.ws.terminate();  // the network drops; the server keeps bob recoverable
  await left;

  for (let i = 0; i < 5; i += 1) await rawConnect(recovery, { abandon: true });
  await new Promise((r) => setTimeout(r, 500));
  const online = (await call(a, 'join_room', { room })).online.map((user) => user.id);
  assert.deepEqual(online, [ana.id], 'no socket of bob was left in the room');

  const reply = await rawConnect(recovery, { abandon: false });
  assert.ok(reply.startsWith('40'), reply);
  assert.equal(JSON.parse(reply.slice(2)).sid, sid, 'the drop was still recoverable: same socket id');
  a.disconnect();
});
