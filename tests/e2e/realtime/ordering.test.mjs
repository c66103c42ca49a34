// Broadcasts to a room leave in the order of their offsets, whichever network threads make
// them: every member sees the same order, and a client's last offset is the newest it holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, call } from './harness.mjs';

let parley;
before(async () => {
  parley = await startParley({ PARLEY_THREADS: '2', PARLEY_SOCKET_EVENTS_PER_SECOND: '100000' });
});
after(async () => { assert.equal(await parley.stop(), 0); });

test('concurrent senders on two network threads: every member gets one order, the offsets order', async () => {
  const owner = await parley.register('order_owner');
  const room = (await parley.api('/api/create-chatroom', { token: owner.token, body: { name: 'order', is_private: false } })).body.chatroom.id;
  const users = [];
  for (let i = 0; i < 6; i++) {
    const user = await parley.register(`order_${i}`);
    await parley.api('/api/join-chatroom', { token: user.token, body: { chatroom_id: room } });
    users.push(user);
  }
  const sockets = users.map((user) => parley.connect(user.token, { transports: ['websocket'] }));
  await Promise.all(sockets.map((socket) => next(socket, 'connect')));
  for (const socket of sockets) await call(socket, 'join_room', { room });
  const received = sockets.map(() => []);
  sockets.forEach((socket, i) => socket.on('new_message', (message, offset) => received[i].push([message.text, offset])));

  // Each connection lands on one of the two network threads; all of them send at once, each
  // keeping a few messages in flight (a loaded machine must not time the acks out).
  const perSender = 120;
  const inFlight = 8;
  await Promise.all(sockets.map(async (socket, s) => {
    for (let n = 0; n < perSender; n += inFlight) {
      const pending = [];
      for (let k = n; k < Math.min(n + inFlight, perSender); k++) {
        pending.push(call(socket, 'send_message', { room, text: `${s}:${k}` }, 30000));
      }
      for (const ack of await Promise.all(pending)) assert.ok(ack.id, JSON.stringify(ack));
    }
  }));
  const total = perSender * sockets.length;
  const deadline = Date.now() + 30000;
  while (received.some((list) => list.length < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  for (const list of received) {
    assert.equal(list.length, total);
    for (let i = 1; i < list.length; i++) {
      assert.ok(list[i][1] > list[i - 1][1], `offsets out of order at ${i}: ${list[i - 1][1]} then ${list[i][1]}`);
    }
  }
  const order = received[0].map(([text]) => text);
  for (const list of received) assert.deepEqual(list.map(([text]) => text), order);
});
