// Per-connection limits: a transport that never sends CONNECT is closed after the connect
// timeout; a socket flooding events is refused, then disconnected; the server stays healthy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startParley, next, call } from './harness.mjs';

let parley;
before(async () => { parley = await startParley({ PARLEY_SOCKET_CONNECT_TIMEOUT_MS: '500' }); });
after(async () => { assert.equal(await parley.stop(), 0); });

test('a transport that never sends CONNECT is closed after the connect timeout', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${parley.port}/socket.io/?EIO=4&transport=websocket`);
  const started = Date.now();
  const code = await new Promise((resolve) => ws.on('close', resolve));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 400 && elapsed < 5000, `closed after ${elapsed} ms (code ${code})`);
});

test('an event flood gets rate_limited acks, then the socket is disconnected', async () => {
  const user = await parley.register('flooder');
  const socket = parley.connect(user.token, { transports: ['websocket'] });
  await next(socket, 'connect');
  const disconnected = next(socket, 'disconnect', 10000);
  const replies = [];
  for (let i = 0; i < 400; i += 1) {
    socket.emit('typing', { room: 1 });
    if (i % 20 === 0) replies.push(call(socket, 'no_such_event', {}, 3000).catch(() => null));
  }
  const reason = await disconnected;
  assert.ok(reason, 'disconnected');
  const acked = (await Promise.all(replies)).filter(Boolean);
  assert.ok(acked.some((r) => r.error?.code === 'rate_limited'), JSON.stringify(acked.slice(-3)));
  assert.equal((await fetch(`${parley.base}/healthz`)).status, 200);
  // Others are unaffected.
  const other = await parley.register('calm');
  const calm = parley.connect(other.token, { transports: ['websocket'] });
  await next(calm, 'connect');
  assert.equal((await call(calm, 'no_such_event', {})).error.code, 'not_found');
});
