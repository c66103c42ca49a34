// Parley's Socket.IO server with the official socket.io-client 4.x: every transport, auth,
// rooms, messages with acks, membership rules taking effect live, and history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, call, silent } from './harness.mjs';

let parley;
before(async () => { parley = await startParley(); });
after(async () => { assert.equal(await parley.stop(), 0, 'parley exits 0 on SIGTERM'); });

async function connected(socket) {
  if (socket.connected) return socket;
  await next(socket, 'connect');
  return socket;
}

async function publicRoom(owner, name = 'lobby') {
  const res = await parley.api('/api/create-chatroom', { token: owner.token, body: { name, is_private: false } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.chatroom.id;
}

test('websocket-only, polling-only and upgrading connections all work', async () => {
  const ana = await parley.register('transports');
  const ws = await connected(parley.connect(ana.token, { transports: ['websocket'] }));
  assert.equal(ws.io.engine.transport.name, 'websocket');
  const polling = await connected(parley.connect(ana.token, { transports: ['polling'] }));
  assert.equal(polling.io.engine.transport.name, 'polling');
  const upgrading = await connected(parley.connect(ana.token));
  await new Promise((resolve, reject) => {
    if (upgrading.io.engine.transport.name === 'websocket') return resolve();
    const timer = setTimeout(() => reject(new Error('no upgrade to websocket within 5 s')), 5000);
    upgrading.io.engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
  });
  assert.equal(upgrading.io.engine.transport.name, 'websocket');
  // Each can talk: an unknown event is answered with room_error through the ack.
  for (const socket of [ws, polling, upgrading]) {
    const reply = await call(socket, 'no_such_event', {});
    assert.equal(reply.error.code, 'not_found');
  }
});

test('a bad or missing token is refused with connect_error', async () => {
  for (const token of ['not-a-token', '']) {
    const socket = parley.connect(token, { transports: ['websocket'] });
    const error = await next(socket, 'connect_error');
    assert.match(error.message, /token|authentication/);
  }
});

test('an unknown namespace is refused', async () => {
  const user = await parley.register('nsp');
  const { io } = await import('socket.io-client');
  const socket = io(`${parley.base}/admin`, { auth: { token: user.token }, reconnection: false, transports: ['websocket'] });
  const error = await next(socket, 'connect_error');
  assert.equal(error.message, 'Invalid namespace');
  socket.disconnect();
});

test('members join, send with acks, and everyone in the room receives new_message', async () => {
  const ana = await parley.register('ana');
  const bob = await parley.register('bob');
  const room = await publicRoom(ana);
  assert.equal((await parley.api('/api/join-chatroom', { token: bob.token, body: { chatroom_id: room } })).status, 200);

  const a = await connected(parley.connect(ana.token));
  const b = await connected(parley.connect(bob.token, { transports: ['websocket'] }));
  const first = await call(a, 'join_room', { room });
  assert.equal(first.ok, true);
  assert.deepEqual(first.online.map((u) => u.username), ['ana']);
  const joined = next(a, 'user_joined');
  const second = await call(b, 'join_room', { room: String(room) });
  assert.equal(second.room, room);
  // Presence: who is in the room now.
  assert.deepEqual(second.online.map((u) => u.username).sort(), ['ana', 'bob']);
  const announcement = await joined;
  assert.equal(announcement.room, room);
  assert.equal(announcement.user.username, 'bob');

  const received = [next(a, 'new_message'), next(b, 'new_message')];
  const ack = await call(a, 'send_message', { room, text: 'hola, ¿qué tal? 😀', client_id: 'c-1' });
  assert.ok(Number.isInteger(ack.id), JSON.stringify(ack));
  assert.match(ack.created_at, /Z$/);
  for (const message of await Promise.all(received)) {
    assert.equal(message.id, ack.id);
    assert.equal(message.room, room);
    assert.equal(message.text, 'hola, ¿qué tal? 😀');
    assert.equal(message.sender.username, 'ana');
    assert.equal(message.kind, 'text');
    assert.equal(message.client_id, 'c-1');
  }
  // The same client_id again is the same stored message (a retry), not a duplicate.
  const retry = await call(a, 'send_message', { room, text: 'hola, ¿qué tal? 😀', client_id: 'c-1' });
  assert.equal(retry.id, ack.id);

  // History returns what was delivered.
  const history = await parley.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room } });
  assert.equal(history.status, 200);
  assert.equal(history.body.messages[0].id, ack.id);

  // Leaving the channel: the others hear user_left.
  const left = next(a, 'user_left');
  assert.deepEqual(await call(b, 'leave_room', { room }), { ok: true, room });
  assert.equal((await left).user.username, 'bob');
});

test('bad event payloads get room_error, never a crash', async () => {
  const eve = await parley.register('eve');
  const room = await publicRoom(eve, 'payloads');
  const socket = await connected(parley.connect(eve.token));
  for (const payload of [undefined, 'room', { room: 'abc' }, { room: -1 }, { room: {} }]) {
    const reply = await call(socket, 'join_room', payload);
    assert.equal(reply.error.code, 'validation_failed', JSON.stringify(payload));
  }
  assert.equal((await call(socket, 'join_room', { room })).ok, true);
  for (const payload of [{ room }, { room, text: 42 }, { room, text: '' }, { room, text: 'x'.repeat(5000) }, { room, text: 'ok', client_id: 7 }]) {
    const reply = await call(socket, 'send_message', payload);
    assert.ok(reply.error, JSON.stringify(payload));
  }
  const notJoined = await publicRoom(eve, 'elsewhere');
  const reply = await call(socket, 'send_message', { room: notJoined, text: 'hi' });
  assert.equal(reply.error.code, 'forbidden');
  assert.ok(socket.connected);
});

test('non-members cannot join a private room channel; password and invite let them in', async () => {
  const owner = await parley.register('owner1');
  const guest = await parley.register('visitor1');
  const created = await parley.api('/api/create-chatroom', { token: owner.token, body: { name: 'secret', is_private: true, password: 'room password 1' } });
  assert.equal(created.status, 201);
  const room = created.body.chatroom.id;
  const socket = await connected(parley.connect(guest.token));
  const refused = next(socket, 'room_error');
  const reply = await call(socket, 'join_room', { room });
  assert.equal(reply.error.code, 'forbidden');
  assert.equal((await refused).room, room);
  assert.equal((await parley.api('/api/join-chatroom', { token: guest.token, body: { chatroom_id: room, password: 'wrong password' } })).status, 403);
  assert.equal((await parley.api('/api/join-chatroom', { token: guest.token, body: { chatroom_id: room, password: 'room password 1' } })).status, 200);
  assert.equal((await call(socket, 'join_room', { room })).ok, true);

  const third = await parley.register('visitor2');
  const invite = await parley.api(`/api/chatrooms/${room}/invites`, { token: owner.token, body: {} });
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  assert.equal((await parley.api('/api/join-chatroom', { token: third.token, body: { chatroom_id: room, invite_code: invite.body.code } })).status, 200);
  const s3 = await connected(parley.connect(third.token));
  assert.equal((await call(s3, 'join_room', { room })).ok, true);
});

test('a kicked or banned member is removed from the channel at once', async () => {
  const owner = await parley.register('owner2');
  const member = await parley.register('member2');
  const room = await publicRoom(owner, 'moderated');
  await parley.api('/api/join-chatroom', { token: member.token, body: { chatroom_id: room } });
  const o = await connected(parley.connect(owner.token));
  const m = await connected(parley.connect(member.token));
  await call(o, 'join_room', { room });
  await call(m, 'join_room', { room });

  const removed = next(m, 'room_error');
  const ban = await parley.api(`/api/chatrooms/${room}/ban`, { token: owner.token, body: { user_id: member.id } });
  assert.equal(ban.status, 200, JSON.stringify(ban.body));
  assert.equal((await removed).room, room);
  const quiet = silent(m, 'new_message');
  await call(o, 'send_message', { room, text: 'after the ban' });
  assert.equal(await quiet, true, 'the banned member receives nothing more');
  const rejoin = await call(m, 'join_room', { room });
  assert.equal(rejoin.error.code, 'forbidden');
});

test('changing the password or deleting the account drops the user\'s live sockets', async () => {
  const zoe = await parley.register('zoe_sessions');
  const socket = await connected(parley.connect(zoe.token, { transports: ['websocket'] }));
  const dropped = next(socket, 'disconnect');
  const changed = await parley.api('/api/change-password', {
    token: zoe.token, body: { current_password: 'a long e2e passphrase', new_password: 'another long passphrase' },
  });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  await dropped;
  // With the new token the user connects again; deleting the account drops that one too.
  const fresh = await connected(parley.connect(changed.body.access_token, { transports: ['websocket'] }));
  const gone = next(fresh, 'disconnect');
  const deleted = await parley.api('/api/delete-account', { token: changed.body.access_token, body: { password: 'another long passphrase' } });
  assert.equal(deleted.status, 200);
  await gone;
  const refused = parley.connect(changed.body.access_token, { transports: ['websocket'] });
  await next(refused, 'connect_error');
});
