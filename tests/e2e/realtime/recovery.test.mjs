// Connection state recovery (socket.io >= 4.6): a client whose connection drops and comes back
// within the window gets its rooms back and every room event it missed, exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, call } from './harness.mjs';

let parley;
before(async () => { parley = await startParley(); });
after(async () => { assert.equal(await parley.stop(), 0); });

// Ana and Bob in a public room, both connected over WebSocket and in its channel; Bob's client
// reconnects after `delay` to 2 x `delay` ms.
async function pairInRoom(prefix, delay) {
  const ana = await parley.register(`${prefix}_ana`);
  const bob = await parley.register(`${prefix}_bob`);
  const room = (await parley.api('/api/create-chatroom', { token: ana.token, body: { name: prefix, is_private: false } })).body.chatroom.id;
  await parley.api('/api/join-chatroom', { token: bob.token, body: { chatroom_id: room } });
  const a = parley.connect(ana.token, { transports: ['websocket'] });
  const b = parley.connect(bob.token, { transports: ['websocket'], reconnection: true, reconnectionDelay: delay, reconnectionDelayMax: 2 * delay });
  await Promise.all([next(a, 'connect'), next(b, 'connect')]);
  await call(a, 'join_room', { room });
  await call(b, 'join_room', { room });
  return { bob, room, a, b };
}

test('a dropped client recovers its rooms and every missed message exactly once', async () => {
  const { bob, room, a, b } = await pairInRoom('recovery', 100);
  const firstId = b.id;

  const seen = [];
  b.on('new_message', (message) => seen.push(message.text));
  const first = next(b, 'new_message');
  await call(a, 'send_message', { room, text: 'before the drop' });
  await first;

  // Presence as the others see it; bob itself must not be replayed its own departure.
  const bobSeenByAna = [];
  a.on('user_left', (event) => { if (event.user?.id === bob.id) bobSeenByAna.push('left'); });
  a.on('user_joined', (event) => { if (event.user?.id === bob.id) bobSeenByAna.push('joined'); });
  const ownDepartures = [];
  b.on('user_left', (event) => { if (event.user?.id === bob.id) ownDepartures.push(event); });

  // The network drops: no close handshake, the server only sees the socket fail. The client
  // may be back before the sends below finish (a slow machine): wait for it from now on.
  const reconnected = next(b, 'connect', 10000);
  b.io.engine.transport.ws.terminate();
  for (const text of ['missed 1', 'missed 2', 'missed 3']) {
    const ack = await call(a, 'send_message', { room, text });
    assert.ok(ack.id);
  }
  await reconnected;
  assert.equal(b.recovered, true, 'the client reports a recovered session');
  assert.equal(b.id, firstId, 'same socket id');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(seen, ['before the drop', 'missed 1', 'missed 2', 'missed 3']);
  assert.deepEqual(ownDepartures, [], 'no replay of its own user_left');
  assert.deepEqual(bobSeenByAna, ['left', 'joined'], 'the others see the drop and the return');

  // Still in the room after recovery: live messages arrive without a new join_room.
  const live = next(b, 'new_message');
  await call(a, 'send_message', { room, text: 'after recovery' });
  assert.equal((await live).text, 'after recovery');
  assert.equal(seen.filter((t) => t === 'after recovery').length, 1);
});

test('drops while another member keeps sending: every message arrives once, in order', async () => {
  // Recoveries race live broadcasts here: what is sent while a recovery is being queued must
  // reach the client after the replay, or the client resumes from the wrong offset.
  const { room, a, b } = await pairInRoom('flowing', 10);
  const seen = [];
  b.on('new_message', (message) => seen.push(Number(message.text)));
  // A client recovers only once it holds an offset, i.e. after its first room event.
  const first = next(b, 'new_message');
  await call(a, 'send_message', { room, text: '0' });
  await first;

  const sent = [0];
  let sending = true;
  const sender = (async () => {
    // Paced below the per-connection event rate limit.
    for (let n = 1; sending; n++) {
      const ack = await call(a, 'send_message', { room, text: String(n) });
      assert.ok(ack.id, JSON.stringify(ack));
      sent.push(n);
      await new Promise((r) => setTimeout(r, 8));
    }
  })();
  for (let round = 0; round < 15; round++) {
    await new Promise((r) => setTimeout(r, 30));
    const reconnected = next(b, 'connect', 10000);
    b.io.engine.transport.ws.terminate();
    await reconnected;
    assert.equal(b.recovered, true, `round ${round}: recovered`);
  }
  sending = false;
  await sender;
  const last = next(b, 'new_message');
  await call(a, 'send_message', { room, text: String(sent.length) });
  sent.push(sent.length);
  await last;
  assert.deepEqual(seen, sent);
});

test('a deliberate disconnect is not recovered', async () => {
  const carl = await parley.register('recover_carl');
  const c = parley.connect(carl.token, { transports: ['websocket'] });
  await next(c, 'connect');
  const id = c.id;
  c.disconnect();
  c.connect();
  await next(c, 'connect');
  assert.equal(c.recovered, false);
  assert.notEqual(c.id, id);
});
