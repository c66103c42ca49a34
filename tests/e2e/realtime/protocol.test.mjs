// Engine.IO / Socket.IO protocol behaviour on the wire, with raw HTTP and WebSocket clients:
// handshake errors, the polling transport by hand, malformed and oversize input, foreign
// origins. Bad input must get the protocol's error behaviour and never take the server down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startParley } from './harness.mjs';

let parley;
let token;
before(async () => {
  parley = await startParley();
  token = (await parley.register('wire')).token;
});
after(async () => { assert.equal(await parley.stop(), 0); });

const eio = (query) => `${parley.base}/socket.io/?${query}`;

test('handshake errors use the Engine.IO error codes', async () => {
  const cases = [
    ['EIO=3&transport=polling', 400, 5],
    ['transport=polling', 400, 5],
    ['EIO=4&transport=carrier-pigeon', 400, 0],
    ['EIO=4&transport=polling&sid=does-not-exist', 400, 1],
    ['EIO=4&transport=websocket', 400, 3],
  ];
  for (const [query, status, code] of cases) {
    const res = await fetch(eio(query));
    assert.equal(res.status, status, query);
    assert.equal((await res.json()).code, code, query);
  }
  const post = await fetch(eio('EIO=4&transport=polling'), { method: 'POST', body: '40' });
  assert.equal((await post.json()).code, 2);
  const evil = await fetch(eio('EIO=4&transport=polling'), { headers: { Origin: 'https://evil.example' } });
  assert.equal(evil.status, 403);
  assert.equal((await evil.json()).code, 4);
  // The page Parley serves itself (Origin = this server's host and port) may, whatever
  // FRONTEND_URL says.
  const own = await fetch(eio('EIO=4&transport=polling'), { headers: { Origin: parley.base } });
  assert.equal(own.status, 200);
  assert.match(await own.text(), /^0\{"sid"/);
});

test('the polling transport by hand: open, connect with a token, event with ack', async () => {
  const open = await (await fetch(eio('EIO=4&transport=polling'))).text();
  assert.equal(open[0], '0');
  const handshake = JSON.parse(open.slice(1));
  assert.deepEqual(Object.keys(handshake), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.deepEqual(handshake.upgrades, ['websocket']);
  const url = eio(`EIO=4&transport=polling&sid=${handshake.sid}`);
  const posted = await fetch(url, { method: 'POST', body: `40${JSON.stringify({ token })}`, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
  assert.equal(await posted.text(), 'ok');
  const connected = await (await fetch(url)).text();
  assert.match(connected, /^40\{"sid":"[^"]+","pid":"[^"]+"\}$/);
  // Two packets in one POST, separated by \x1e: an event with ack id 7 and another.
  await fetch(url, { method: 'POST', body: '427["no_such_event",{}]\x1e42["typing",{"room":1}]' });
  const reply = await (await fetch(url)).text();
  assert.match(reply, /437\[\{"error"/, reply);
  // An octet-stream POST is refused and ends the session.
  const binary = await fetch(url, { method: 'POST', body: '40', headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(binary.status, 400);
  assert.equal((await (await fetch(url)).json()).code, 1, 'the session is gone');
});

function openSocket(query = 'EIO=4&transport=websocket', headers = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${parley.port}/socket.io/?${query}`, { headers });
  const frames = [];
  ws.on('message', (data, isBinary) => frames.push(isBinary ? data : data.toString()));
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return { ws, frames, closed, opened };
}

async function waitFor(predicate, ms = 3000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test('malformed packets close the connection; the server keeps serving', async () => {
  for (const garbage of ['9nonsense', '4', '42', '42[', '42{"a":1}', '42["connect"]', '43["x"]', '41/other,', '4\u0000\u0001', '']) {
    const { ws, frames, closed, opened } = openSocket();
    await opened;
    await waitFor(() => frames.length > 0);
    ws.send(`40${JSON.stringify({ token })}`);
    await waitFor(() => frames.some((f) => String(f).startsWith('40')));
    ws.send(garbage);
    const code = await Promise.race([closed, new Promise((r) => setTimeout(() => r('open'), 3000))]);
    assert.notEqual(code, 'open', `connection stayed open after ${JSON.stringify(garbage)}`);
  }
  const health = await fetch(`${parley.base}/healthz`);
  assert.equal(health.status, 200);
});

test('a WebSocket frame over maxPayload is closed with 1009', async () => {
  const { ws, closed, opened } = openSocket();
  await opened;
  ws.send('4' + 'x'.repeat(1_000_001));
  assert.equal(await closed, 1009);
});

test('a foreign Origin cannot open a WebSocket; the server\'s own origin can', async () => {
  const { closed, opened } = openSocket('EIO=4&transport=websocket', { Origin: 'https://evil.example' });
  await assert.rejects(opened, /403/);
  await closed;
  const own = openSocket('EIO=4&transport=websocket', { Origin: parley.base });
  await own.opened;
  own.ws.close();
  await own.closed;
});

test('a binary attachment without its packet, and too many attachments, close the connection', async () => {
  for (const send of [
    (ws) => ws.send(Buffer.from([1, 2, 3])),
    (ws) => ws.send('4511-["upload",{"_placeholder":true,"num":0}]'),
  ]) {
    const { ws, frames, closed, opened } = openSocket();
    await opened;
    ws.send(`40${JSON.stringify({ token })}`);
    await waitFor(() => frames.some((f) => String(f).startsWith('40')));
    send(ws);
    const code = await Promise.race([closed, new Promise((r) => setTimeout(() => r('open'), 3000))]);
    assert.notEqual(code, 'open');
  }
});
