// Several Parley processes as one deployment: PostgreSQL (its own database on the server that
// scripts/with-postgres.sh started), a real Redis and two `parley serve` processes on
// 127.0.0.1, with Debian's nginx in front of them (deploy/nginx, rendered for the test).
//
// Shows: clients on different processes in one room exchange messages and see each other's
// presence; logins share one rate limit; Redis stopped mid-test degrades each process to local
// delivery with /readyz not ready, and everything recovers when Redis returns; a process
// killed with SIGKILL loses no stored message, the others hear its users leave, and its
// clients reconnect to the other process and recover the messages they missed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startParley, next, call, nextWhere } from '../realtime/harness.mjs';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const folder = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sockets = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function until(what, check, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

// --- Redis -----------------------------------------------------------------------------------
let redisPort;
let redis;
async function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', folder, '--protected-mode', 'yes'], { stdio: 'ignore' });
  await until('redis answers', () => {
    try {
      return execFileSync('redis-cli', ['-p', String(redisPort), 'PING']).toString().trim() === 'PONG';
    } catch { return false; }
  });
}
async function stopRedis() {
  const exited = new Promise((resolve) => redis.on('exit', resolve));
  redis.kill('SIGKILL');
  await exited;
}

// --- PostgreSQL: a database of its own on the test server -------------------------------------
function createDatabase() {
  const url = new URL(process.env.PARLEY_TEST_POSTGRES_URL);
  const name = `parley_cluster_${process.pid}`;
  execFileSync(`${PG_BIN}/createdb`, ['-h', url.hostname, '-p', url.port, '-U', url.username || 'postgres', name]);
  url.pathname = `/${name}`;
  return url.toString();
}

// --- nginx in front ----------------------------------------------------------------------------
let nginx;
let nginxBase;
async function startNginx(upstreams) {
  const port = await freePort();
  const prefix = join(folder, 'nginx');
  const args = ['--listen', `127.0.0.1:${port}`, '--debug-upstream', '--prefix', prefix];
  for (const upstream of upstreams) args.push('--upstream', upstream);
  const conf = execFileSync('deploy/nginx/render.sh', args).toString().trim();
  const binary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => {
    try { execFileSync(path, ['-v'], { stdio: 'ignore' }); return true; } catch { return false; }
  });
  assert.ok(binary, 'nginx is installed (scripts/install-deps.sh test)');
  nginx = spawn(binary, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  nginxBase = `http://127.0.0.1:${port}`;
  await until('nginx answers', async () => {
    try { return (await fetch(`${nginxBase}/healthz`)).status === 200; } catch { return false; }
  });
}

// --- the deployment ----------------------------------------------------------------------------
let one;
let two;
let env;
before(async () => {
  redisPort = await freePort();
  await startRedis();
  env = {
    DATABASE_URL: createDatabase(),
    REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    PARLEY_LOGIN_PER_MINUTE: '10',
    PARLEY_TRANSLATION_ENGINE: 'apertium',
    // Longer than this test waits: a session ended on one process must end on the other
    // because it was announced, not because a cached entry aged out.
    PARLEY_SESSION_CACHE_S: '120',
  };
  // One after the other: the first applies the migrations.
  one = await startParley({ ...env, PARLEY_NODE_ID: 'node-one' }, { folder: join(folder, 'one') });
  two = await startParley({ ...env, PARLEY_NODE_ID: 'node-two' }, { folder: join(folder, 'two') });
  await startNginx([`127.0.0.1:${one.port}`, `127.0.0.1:${two.port}`]);
  for (const parley of [one, two]) {
    await until('the process is ready (database and Redis)', async () => (await fetch(`${parley.base}/readyz`)).status === 200);
  }
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  nginx?.kill('SIGTERM');
  await two?.stop().catch(() => {});
  await one?.stop().catch(() => {});
  redis?.kill('SIGKILL');
  rmSync(folder, { recursive: true, force: true });
});

function connect(base, token, options = {}) {
  const socket = io(base, { auth: { token }, reconnection: false, forceNew: true, transports: ['websocket'], ...options });
  sockets.push(socket);
  return socket;
}
async function connected(socket) {
  if (!socket.connected) await next(socket, 'connect', 10000);
  return socket;
}

let ana;
let bob;
let cleo;
let dan;
let room;
let a;  // ana on process one
let b;  // bob on process two
let c;  // cleo through nginx, long-polling only
let d;  // dan through nginx, WebSocket
let lastSeqOfBob = 0;
// On failure, what the processes logged about Redis and the cluster.
process.on('exit', (code) => {
  if (code === 0 || !one) return;
  for (const [name, parley] of [['one', one], ['two', two]]) {
    for (const line of parley.logs) {
      if (/redis|cluster|rate_limits/.test(line.event)) console.error(name, JSON.stringify(line));
    }
  }
});

test('clients on different processes share a room: messages, presence, nginx in front', async () => {
  ana = await one.register('ana');
  bob = await two.register('bob');
  cleo = await one.register('cleo');
  dan = await two.register('dan');
  const created = await one.api('/api/create-chatroom', { token: ana.token, body: { name: 'cluster', is_private: false } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  room = created.body.chatroom.id;
  for (const user of [bob, cleo, dan]) {
    const joined = await two.api('/api/join-chatroom', { token: user.token, body: { chatroom_id: room } });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
  }

  a = await connected(connect(one.base, ana.token));
  b = await connected(connect(two.base, bob.token));
  c = await connected(connect(nginxBase, cleo.token, { transports: ['polling'] }));
  d = await connected(connect(nginxBase, dan.token));
  assert.equal(c.io.engine.transport.name, 'polling');

  assert.equal((await call(a, 'join_room', { room })).ok, true);
  // ana (process one) hears bob (process two) arrive.
  const bobArrives = next(a, 'user_joined');
  const bobJoin = await call(b, 'join_room', { room });
  assert.equal((await bobArrives).user.username, 'bob');
  assert.deepEqual(bobJoin.online.map((u) => u.username).sort(), ['ana', 'bob'], 'presence spans processes');
  await call(c, 'join_room', { room });
  const danJoin = await call(d, 'join_room', { room });
  assert.deepEqual(danJoin.online.map((u) => u.username).sort(), ['ana', 'bob', 'cleo', 'dan']);

  // A message sent on one process reaches every member, wherever connected.
  const everyone = [b, c, d].map((s) => next(s, 'new_message'));
  const ack = await call(a, 'send_message', { room, text: 'hello from process one' });
  for (const message of await Promise.all(everyone)) {
    assert.equal(message.id, ack.id);
    assert.equal(message.text, 'hello from process one');
  }
  const back = next(a, 'new_message');
  const polled = next(c, 'new_message');
  const reply = await call(b, 'send_message', { room, text: 'and back from process two' });
  assert.equal((await back).id, reply.id);
  assert.equal((await polled).id, reply.id);
  lastSeqOfBob = (await polled).seq;

  // nginx kept each long-polling session on one process (else "Session ID unknown").
  const typing = next(a, 'typing');
  c.emit('typing', { room });
  assert.equal((await typing).user.username, 'cleo');
});

test('/readyz reports Redis; logins share one rate limit across processes', async () => {
  for (const parley of [one, two]) {
    const ready = await parley.api('/readyz', { method: 'GET' });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.redis, 'ok');
  }
  // 10 per minute, 5 at once: alternating between the processes, the sixth attempt is refused
  // (two in-process limits would allow ten).
  const statuses = [];
  for (let i = 0; i < 6; i += 1) {
    const parley = i % 2 === 0 ? one : two;
    const res = await parley.api('/api/login', { body: { email: 'ana@example.test', password: 'wrong password' } });
    statuses.push(res.status);
  }
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.equal(statuses[5], 429, JSON.stringify(statuses));
});

test('a session ended on one process is refused on the other at once (announced over Redis)', async () => {
  const eve = await one.register('eve');
  // Process two checks eve's session (and remembers it): REST and a socket both get in.
  assert.equal((await two.api('/api/me', { method: 'GET', token: eve.token })).status, 200);
  const before = await connected(connect(two.base, eve.token));
  before.disconnect();
  const out = await one.api('/api/logout', { token: eve.token, body: {} });
  assert.ok(out.status < 300, JSON.stringify(out));
  const started = Date.now();
  await until('process two refuses the ended session', async () =>
    (await two.api('/api/me', { method: 'GET', token: eve.token })).status === 401, 3000);
  assert.ok(Date.now() - started < 3000);
  const refused = connect(two.base, eve.token);
  const error = await next(refused, 'connect_error', 5000);
  assert.match(error.message, /invalid or expired token/);
});

test('Redis stopped: each process serves its own clients, /readyz is not ready; then it recovers', async () => {
  await stopRedis();
  for (const parley of [one, two]) {
    await until('/readyz turns not ready', async () => (await fetch(`${parley.base}/readyz`)).status === 503);
  }
  assert.ok(one.logs.some((line) => line.event === 'redis_lost' && line.level === 'error'), 'the loss is logged as an error');
  // Still stored and delivered on the sender's own process.
  const ownProcess = next(a, 'new_message');
  const ack = await call(a, 'send_message', { room, text: 'while Redis is away' });
  assert.ok(Number.isInteger(ack.id));
  assert.equal((await ownProcess).id, ack.id);

  await startRedis();
  for (const parley of [one, two]) {
    await until('/readyz is ready again', async () => (await fetch(`${parley.base}/readyz`)).status === 200);
  }
  // Cross-process delivery and presence are back.
  const arrives = next(b, 'new_message');
  const after = await call(a, 'send_message', { room, text: 'Redis is back' });
  assert.equal((await arrives).id, after.id);
  const rejoin = await call(b, 'join_room', { room });
  assert.deepEqual(rejoin.online.map((u) => u.username).sort(), ['ana', 'bob', 'cleo', 'dan'],
    'each process wrote its presence again');
  // Bob missed one message while Redis was away: the history has it.
  const history = await two.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room } });
  assert.ok(history.body.messages.some((m) => m.id === ack.id));
});

test('a process killed with SIGKILL: nothing stored is lost, its clients move to the other', async () => {
  // Bob's client is on process two; it reconnects wherever the load balancer sends it.
  // What bob's client had seen: the catch-up starts after it.
  const history = await two.api('/api/get-chatroom-messages', { token: bob.token, body: { chatroom_id: room } });
  const seqBefore = Math.max(lastSeqOfBob, ...history.body.messages.map((m) => m.seq));
  const sent = await call(b, 'send_message', { room, text: 'acked just before the crash' });
  assert.ok(Number.isInteger(sent.id));

  const bobLeft = nextWhere(a, 'user_left', (event) => event.user?.username === 'bob', 20000);
  await two.crash();
  // The survivors hear that bob's connection is gone (the dead process's heartbeat expired).
  assert.equal((await bobLeft).user.username, 'bob');

  // Messages while bob is away, then bob's client comes back on process one and catches up.
  const missed = [];
  for (const text of ['missed one', 'missed two']) missed.push((await call(a, 'send_message', { room, text })).id);
  const again = await connected(connect(one.base, bob.token));
  const caughtUp = await call(again, 'join_room', { room, after_seq: seqBefore });
  assert.equal(caughtUp.ok, true);
  const ids = caughtUp.missed.map((m) => m.id);
  for (const id of [sent.id, ...missed]) assert.ok(ids.includes(id), `missed message ${id} recovered`);

  // The message acked by the killed process is in the history.
  const stored = await one.api('/api/get-chatroom-messages', { token: ana.token, body: { chatroom_id: room } });
  assert.ok(stored.body.messages.some((m) => m.id === sent.id && m.text === 'acked just before the crash'));

  // Presence without the dead process's connections: bob is there once, through process one.
  const online = caughtUp.online.map((u) => u.username).sort();
  assert.deepEqual(online.filter((name) => name === 'bob'), ['bob']);
  assert.ok(!online.includes('dan') || d.connected, 'dan shows only while connected');
});
