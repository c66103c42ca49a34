// Protocol-conformance mode (PARLEY_PROTOCOL_CONFORMANCE=1): the behaviour that the socket.io
// project's Engine.IO v4 and Socket.IO v5 protocol test suites check, packet by packet, over raw
// HTTP long-polling requests and raw WebSockets (`ws`), plus a binary round trip through the real
// socket.io-client. Settings of that mode: ping 300/200 ms, maxPayload 1000000, connectTimeout
// 1000 ms, no connection state recovery, CORS for any origin.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { startParley } from './harness.mjs';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

let server;
let URL;
let WS_URL;

before(async () => {
  // One io thread: this suite also covers the strand-free single-threaded mode.
  server = await startParley({ PARLEY_PROTOCOL_CONFORMANCE: '1', PARLEY_THREADS: '1' });
  URL = server.base;
  WS_URL = URL.replace('http', 'ws');
});
after(async () => { assert.equal(await server.stop(), 0); });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A raw WebSocket whose messages queue up, so that none is lost between two awaits (`ws` emits
 * the frames of one TCP read synchronously, one after another).
 */
function webSocket(path) {
  const socket = new WebSocket(`${WS_URL}${path}`);
  const queue = [];
  const waiters = [];
  socket.on('error', () => {});  // refused upgrades are expected in some tests
  socket.on('message', (data, isBinary) => {
    const value = isBinary ? new Uint8Array(data) : data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(value); else queue.push(value);
  });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  const opened = new Promise((resolve) => socket.on('open', resolve));
  return {
    send: (data) => socket.send(data),
    close: () => socket.close(),
    /** Answers the server's pings from now on (a client that is alive, as socket.io-client). */
    keepAlive() { socket.on('message', (data) => { if (data.toString() === '2') socket.send('3'); }); },
    opened: () => withTimeout(opened, 'open'),
    closed: (ms = 3000) => withTimeout(closed, 'close', ms),
    /** The next message, pings included. */
    next(ms = 3000) {
      if (queue.length) return Promise.resolve(queue.shift());
      return withTimeout(new Promise((resolve) => waiters.push(resolve)), 'message', ms);
    },
    /** The next `count` messages that are not pings. */
    async packets(count, ms = 3000) {
      const out = [];
      while (out.length < count) {
        const value = await this.next(ms);
        if (value !== '2') out.push(value);
      }
      return out;
    },
  };
}

function withTimeout(promise, what, ms = 3000) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function openPolling(path) {
  const response = await fetch(`${URL}${path}?EIO=4&transport=polling`);
  const text = await response.text();
  return JSON.parse(text.substring(1)).sid;
}

for (const path of ['/engine.io/', '/socket.io/']) {
  describe(`Engine.IO v4 at ${path}`, () => {
    it('opens a polling session with the handshake values', async () => {
      const response = await fetch(`${URL}${path}?EIO=4&transport=polling`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.ok(text.startsWith('0'));
      const open = JSON.parse(text.substring(1));
      assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
      assert.equal(typeof open.sid, 'string');
      assert.deepEqual(open.upgrades, ['websocket']);
      assert.equal(open.pingInterval, PING_INTERVAL);
      assert.equal(open.pingTimeout, PING_TIMEOUT);
      assert.equal(open.maxPayload, 1000000);
    });

    it('refuses a bad EIO, a bad transport and a bad method with 400', async () => {
      for (const query of ['?transport=polling', '?EIO=abc&transport=polling', '?EIO=4', '?EIO=4&transport=abc']) {
        const response = await fetch(`${URL}${path}${query}`);
        assert.equal(response.status, 400, query);
        await response.body?.cancel();
      }
      for (const method of ['POST', 'PUT']) {
        const response = await fetch(`${URL}${path}?EIO=4&transport=polling`, { method });
        assert.equal(response.status, 400, method);
        await response.body?.cancel();
      }
    });

    it('opens a WebSocket session without upgrades', async () => {
      const socket = webSocket(`${path}?EIO=4&transport=websocket`);
      const data = await socket.next();
      assert.ok(data.startsWith('0'));
      const open = JSON.parse(data.substring(1));
      assert.deepEqual(open.upgrades, []);
      assert.equal(open.pingInterval, PING_INTERVAL);
      socket.close();
    });

    it('closes a WebSocket with a bad EIO or transport', async () => {
      for (const query of ['?transport=websocket', '?EIO=abc&transport=websocket', '?EIO=4', '?EIO=4&transport=abc']) {
        await webSocket(`${path}${query}`).closed();
      }
    });

    // On /socket.io/ a transport without a namespace is closed after connectTimeout (1000 ms):
    // two ping rounds fit before it, three only just.
    const pingRounds = path === '/engine.io/' ? 3 : 2;

    it('sends ping packets over polling and expects pongs', async () => {
      const sid = await openPolling(path);
      for (let i = 0; i < pingRounds; i++) {
        const poll = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
        assert.equal(poll.status, 200);
        assert.equal(await poll.text(), '2');
        const pong = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '3' });
        assert.equal(pong.status, 200);
        await pong.body?.cancel();
      }
    });

    it('closes a polling session upon ping timeout', async () => {
      const sid = await openPolling(path);
      await sleep(PING_INTERVAL + PING_TIMEOUT + 50);
      const poll = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(poll.status, 400);
      await poll.body?.cancel();
    });

    it('sends pings over WebSocket and closes upon ping timeout', async () => {
      const socket = webSocket(`${path}?EIO=4&transport=websocket`);
      await socket.next();
      for (let i = 0; i < pingRounds; i++) {
        assert.equal(await socket.next(), '2');
        socket.send('3');
      }
      socket.close();
      const silent = webSocket(`${path}?EIO=4&transport=websocket`);
      await silent.closed(PING_INTERVAL + PING_TIMEOUT + 2000);
    });

    it('answers a pending GET with noop when the client closes, then forgets the session', async () => {
      const sid = await openPolling(path);
      const [poll, push] = await Promise.all([
        fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`),
        sleep(20).then(() => fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' })),
      ]);
      await push.body?.cancel();
      assert.equal(poll.status, 200);
      assert.equal(await poll.text(), '6');
      const again = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(again.status, 400);
      await again.body?.cancel();
    });

    it('closes a WebSocket session on a close packet', async () => {
      const socket = webSocket(`${path}?EIO=4&transport=websocket`);
      await socket.next();
      socket.send('1');
      await socket.closed();
    });

    it('closes the session on duplicate GETs', async () => {
      const sid = await openPolling(path);
      const [first, second] = await Promise.all([
        fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`),
        sleep(20).then(() => fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}&t=burst`)),
      ]);
      assert.equal(first.status, 200);
      assert.equal(await first.text(), '1');
      assert.equal(second.status, 400);
      await second.body?.cancel();
      const after = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(after.status, 400);
      await after.body?.cancel();
    });

    it('closes the session when a pending GET is abandoned', async () => {
      const sid = await openPolling(path);
      const controller = new AbortController();
      fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`, { signal: controller.signal }).catch(() => {});
      await sleep(20);
      controller.abort();
      await sleep(50);
      const poll = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(poll.status, 400);
      await poll.body?.cancel();
    });

    it('upgrades from polling to WebSocket: probe, noop to the pending GET, upgrade', async () => {
      const sid = await openPolling(path);
      const socket = webSocket(`${path}?EIO=4&transport=websocket&sid=${sid}`);
      await socket.opened();
      socket.send('2probe');
      assert.equal(await socket.next(), '3probe');
      const poll = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(poll.status, 200);
      assert.equal(await poll.text(), '6');
      socket.send('5');
      // After the upgrade, polling requests and a second WebSocket for the sid are refused.
      await sleep(50);
      const late = await fetch(`${URL}${path}?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(late.status, 400);
      await late.body?.cancel();
      await webSocket(`${path}?EIO=4&transport=websocket&sid=${sid}`).closed();
      socket.close();
    });
  });
}

describe('Engine.IO echo at /engine.io/', () => {
  it('echoes polling payloads: text, several packets, text and base64 binary', async () => {
    for (const body of ['4hello', '4test1\x1e4test2\x1e4test3', '4hello\x1ebAQIDBA==']) {
      const sid = await openPolling('/engine.io/');
      const push = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body });
      assert.equal(push.status, 200);
      assert.equal(await push.text(), 'ok');
      const poll = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(await poll.text(), body);
    }
  });

  it('closes a polling session on an invalid packet', async () => {
    const sid = await openPolling('/engine.io/');
    const push = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: 'abc' });
    assert.equal(push.status, 400);
    await push.body?.cancel();
    const poll = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(poll.status, 400);
    await poll.body?.cancel();
  });

  it('echoes WebSocket text and binary frames, and closes on an invalid packet', async () => {
    const socket = webSocket('/engine.io/?EIO=4&transport=websocket');
    await socket.next();
    socket.send('4hello');
    assert.equal(await socket.next(), '4hello');
    socket.send(Uint8Array.from([1, 2, 3, 4]));
    assert.deepEqual(await socket.next(), Uint8Array.from([1, 2, 3, 4]));
    socket.send('abc');
    await socket.closed();
  });

  it('echoes after an upgrade', async () => {
    const sid = await openPolling('/engine.io/');
    const socket = webSocket(`/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
    await socket.opened();
    socket.send('2probe');
    assert.equal(await socket.next(), '3probe');
    socket.send('5');
    socket.send('4hello');
    assert.equal((await socket.packets(1))[0], '4hello');
    socket.close();
  });

  it('allows any origin', async () => {
    const response = await fetch(`${URL}/engine.io/?EIO=4&transport=polling`, { headers: { Origin: 'https://anywhere.example' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), 'https://anywhere.example');
    await response.body?.cancel();
  });
});

describe('Socket.IO v5 in conformance mode', () => {
  async function connected() {
    const socket = webSocket('/socket.io/?EIO=4&transport=websocket');
    await socket.next();  // Engine.IO open
    socket.send('40');
    await socket.next();  // CONNECT reply
    await socket.next();  // auth event
    return socket;
  }

  for (const [nsp, prefix] of [['/', '40'], ['/custom', '40/custom,']]) {
    for (const auth of [null, { token: '123' }]) {
      it(`connects to ${nsp} ${auth ? 'with' : 'without'} a payload and gets auth back`, async () => {
        const socket = webSocket('/socket.io/?EIO=4&transport=websocket');
        await socket.next();
        socket.send(prefix + (auth ? JSON.stringify(auth) : ''));
        const data = await socket.next();
        assert.ok(data.startsWith(prefix), data);
        const handshake = JSON.parse(data.substring(prefix.length));
        // No connection state recovery in this mode: the sid alone, no pid.
        assert.deepEqual(Object.keys(handshake), ['sid']);
        const eventPrefix = nsp === '/' ? '42' : '42/custom,';
        assert.equal(await socket.next(), `${eventPrefix}["auth",${JSON.stringify(auth ?? {})}]`);
        socket.close();
      });
    }
  }

  it('refuses an unknown namespace', async () => {
    const socket = webSocket('/socket.io/?EIO=4&transport=websocket');
    await socket.next();
    socket.send('40/random,');
    assert.equal(await socket.next(), '44/random,{"message":"Invalid namespace"}');
    socket.close();
  });

  it('closes on an invalid handshake', async () => {
    const socket = webSocket('/socket.io/?EIO=4&transport=websocket');
    await socket.next();
    socket.send('4abc');
    await socket.closed();
  });

  it('closes the connection when the main namespace disconnects', async () => {
    const socket = await connected();
    socket.send('41');
    await socket.closed();
  });

  it('keeps the main namespace when a custom one disconnects', async () => {
    const socket = await connected();
    socket.send('40/custom,');
    await socket.next();
    await socket.next();
    socket.send('41/custom,');
    socket.send('42["message","message to main namespace"]');
    assert.equal((await socket.packets(1))[0], '42["message-back","message to main namespace"]');
    socket.close();
  });

  it('echoes a plain event as message-back', async () => {
    const socket = await connected();
    socket.send('42["message",1,"2",{"3":[true]}]');
    assert.equal((await socket.packets(1))[0], '42["message-back",1,"2",{"3":[true]}]');
    socket.close();
  });

  it('echoes a binary event with its attachments', async () => {
    const socket = await connected();
    socket.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    socket.send(Uint8Array.from([1, 2, 3]));
    socket.send(Uint8Array.from([4, 5, 6]));
    const packets = await socket.packets(3);
    assert.equal(packets[0], '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(packets[1], Uint8Array.from([1, 2, 3]));
    assert.deepEqual(packets[2], Uint8Array.from([4, 5, 6]));
    socket.close();
  });

  it('acks with the same arguments, plain and binary', async () => {
    const socket = await connected();
    socket.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    assert.equal((await socket.packets(1))[0], '43456[1,"2",{"3":[false]}]');
    socket.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    socket.send(Uint8Array.from([1, 2, 3]));
    socket.send(Uint8Array.from([4, 5, 6]));
    const packets = await socket.packets(3);
    assert.equal(packets[0], '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(packets[1], Uint8Array.from([1, 2, 3]));
    assert.deepEqual(packets[2], Uint8Array.from([4, 5, 6]));
    socket.close();
  });

  for (const [what, packet] of [['an unknown packet type', '4abc'], ['an invalid payload', '42{}'],
    ['an invalid ack id', '42abc["message-with-ack",1,"2",{"3":[false]}]']]) {
    it(`closes the connection upon ${what}`, async () => {
      const socket = await connected();
      socket.send(packet);
      await socket.closed();
    });
  }

  it('closes a transport that never connects a namespace after connectTimeout', async () => {
    const socket = webSocket('/socket.io/?EIO=4&transport=websocket');
    socket.keepAlive();
    const started = Date.now();
    await socket.closed(4000);
    assert.ok(Date.now() - started >= 900, 'closed before connectTimeout');
  });

  for (const transports of [['polling'], ['websocket']]) {
    it(`round-trips binary with the real socket.io-client (${transports[0]})`, async () => {
      const client = io(URL, { transports, forceNew: true, reconnection: false, auth: { token: 'x' } });
      try {
        const auth = await new Promise((resolve) => client.once('auth', resolve));
        assert.deepEqual(auth, { token: 'x' });
        const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
        const echoed = new Promise((resolve) => client.once('message-back', (...args) => resolve(args)));
        client.emit('message', 'text', payload, { nested: [payload] });
        const [text, bytes, object] = await echoed;
        assert.equal(text, 'text');
        assert.deepEqual(Buffer.from(bytes), payload);
        assert.deepEqual(Buffer.from(object.nested[0]), payload);
        const acked = await client.timeout(3000).emitWithAck('message-with-ack', payload, 7);
        assert.deepEqual(Buffer.from(acked), payload);
      } finally {
        client.disconnect();
      }
    });
  }
});
