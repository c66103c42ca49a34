// WebSocket permessage-deflate: negotiated when PARLEY_WS_COMPRESSION=1 and the client offers it,
// never otherwise. Checked with the `ws` client (what socket.io-client uses in Node) against the
// Engine.IO echo of the conformance mode, so that the payloads come back byte for byte.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startParley } from './harness.mjs';

let compressing;
let plain;
before(async () => {
  [compressing, plain] = await Promise.all([
    startParley({ PARLEY_PROTOCOL_CONFORMANCE: '1', PARLEY_WS_COMPRESSION: '1' }),
    startParley({ PARLEY_PROTOCOL_CONFORMANCE: '1' }),
  ]);
});
after(async () => {
  assert.equal(await compressing.stop(), 0);
  assert.equal(await plain.stop(), 0);
});

async function open(server, perMessageDeflate) {
  const socket = new WebSocket(`${server.base.replace('http', 'ws')}/engine.io/?EIO=4&transport=websocket`,
    { perMessageDeflate });
  const messages = [];
  const waiters = [];
  socket.on('message', (data, isBinary) => {
    const value = isBinary ? Buffer.from(data) : data.toString();
    if (value === '2') { socket.send('3'); return; }
    const waiter = waiters.shift();
    if (waiter) waiter(value); else messages.push(value);
  });
  const next = () => (messages.length ? Promise.resolve(messages.shift())
    : new Promise((resolve) => waiters.push(resolve)));
  await next();  // Engine.IO open
  return { socket, next };
}

it('negotiates permessage-deflate when enabled and the payloads survive it', async () => {
  const { socket, next } = await open(compressing, true);
  assert.match(socket.extensions, /permessage-deflate/);
  const large = '4' + 'Parley 会议 — réunion '.repeat(500);
  const binary = Buffer.alloc(70000, 7);
  for (const payload of ['4hi', large, binary]) {
    socket.send(payload);
    assert.deepEqual(await next(), payload);
  }
  socket.close();
});

it('does not negotiate it when disabled, or when the client does not offer it', async () => {
  const disabled = await open(plain, true);
  assert.equal(disabled.socket.extensions, '');
  disabled.socket.send('4hello');
  assert.equal(await disabled.next(), '4hello');
  disabled.socket.close();
  const unoffered = await open(compressing, false);
  assert.equal(unoffered.socket.extensions, '');
  unoffered.socket.close();
});
