// GET /metrics of a real `parley serve`, parsed by a real Prometheus text-format parser
// (parse-prometheus-text-format): HTTP and Socket.IO counters match what this test did, the
// token and admin rules refuse bad callers, and the sampler fills the history that
// GET /api/admin/metrics returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startParley, next, call } from '../realtime/harness.mjs';

const TOKEN = 'e2e-metrics-token-0123456789';
let parley;
before(async () => {
  parley = await startParley({
    PARLEY_METRICS_TOKEN: TOKEN,
    PARLEY_ADMIN_EMAILS: 'Boss@example.test',
    PARLEY_METRICS_SAMPLE_SECONDS: '1',
  });
});
after(async () => { assert.equal(await parley.stop(), 0, 'parley exits 0 on SIGTERM'); });

async function scrape(token) {
  const headers = token === null ? {} : { Authorization: `Bearer ${token}` };
  const res = await fetch(`${parley.base}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text };
}

async function families() {
  const res = await scrape(TOKEN);
  assert.equal(res.status, 200, res.text);
  const parsed = parsePrometheusTextFormat(res.text);
  return new Map(parsed.map((family) => [family.name, family]));
}

// The value of the series of `name` whose labels include `labels` (0 when absent).
function value(all, name, labels = {}) {
  const family = all.get(name);
  if (!family) return 0;
  const matches = family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
  if (matches.length === 0) return 0;
  assert.equal(matches.length, 1, `${name} ${JSON.stringify(labels)} matches one series`);
  return Number(matches[0].value);
}

async function connected(socket) {
  if (!socket.connected) await next(socket, 'connect');
  return socket;
}

test('the exposition parses and its types and process series are there', async () => {
  const res = await scrape(TOKEN);
  assert.equal(res.status, 200);
  assert.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8');
  const all = new Map(parsePrometheusTextFormat(res.text).map((f) => [f.name, f]));
  assert.equal(all.get('parley_http_requests_total').type, 'COUNTER');
  assert.equal(all.get('parley_http_request_duration_seconds').type, 'HISTOGRAM');
  assert.equal(all.get('parley_socketio_connections').type, 'GAUGE');
  for (const name of ['process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_cpu_seconds_total',
    'process_open_fds', 'process_start_time_seconds']) {
    assert.ok(value(all, name) > 0, `${name} > 0`);
  }
  assert.ok(value(all, 'parley_db_pool_connections') >= 1);
});

test('counters match the HTTP requests and socket events of this test', async () => {
  const before = await families();
  const healthBefore = value(before, 'parley_http_requests_total', { route: '/healthz', method: 'GET', status: '200' });
  const unmatchedBefore = value(before, 'parley_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' });
  const receivedBefore = value(before, 'parley_socketio_events_received_total');
  const sentBefore = value(before, 'parley_socketio_events_sent_total');
  assert.equal(value(before, 'parley_socketio_connections'), 0);

  for (let i = 0; i < 5; i++) assert.equal((await fetch(`${parley.base}/healthz`)).status, 200);
  for (const path of ['/api/nothing/here', '/api/chatrooms/1/nope']) {
    assert.equal((await fetch(parley.base + path)).status, 404);
  }
  const ana = await parley.register('ana');
  const bob = await parley.register('bob');
  const created = await parley.api('/api/create-chatroom', { token: ana.token, body: { name: 'metrics', is_private: false } });
  assert.equal(created.status, 201);
  const room = created.body.chatroom.id;
  assert.equal((await parley.api('/api/join-chatroom', { token: bob.token, body: { chatroom_id: room } })).status, 200);

  const a = await connected(parley.connect(ana.token, { transports: ['websocket'] }));
  const b = await connected(parley.connect(bob.token, { transports: ['websocket'] }));
  let delivered = 0;
  for (const socket of [a, b]) socket.onAny(() => { delivered += 1; });
  let emitted = 0;
  assert.equal((await call(a, 'join_room', { room })).ok, true); emitted++;
  const joined = next(a, 'user_joined');
  assert.equal((await call(b, 'join_room', { room })).ok, true); emitted++;
  await joined;
  for (let i = 0; i < 3; i++) {
    const arrivals = [next(a, 'new_message'), next(b, 'new_message')];
    const ack = await call(a, 'send_message', { room, text: `message ${i}`, client_id: `m-${i}` }); emitted++;
    assert.ok(Number.isInteger(ack.id));
    await Promise.all(arrivals);
  }

  const during = await families();
  assert.equal(value(during, 'parley_socketio_connections'), 2);
  assert.ok(value(during, 'parley_socketio_rooms') >= 1);
  assert.equal(value(during, 'parley_socketio_events_received_total') - receivedBefore, emitted);
  // Every event a client received was counted as sent (broadcasts once per recipient).
  assert.ok(value(during, 'parley_socketio_events_sent_total') - sentBefore >= delivered, 'sent >= delivered');
  assert.ok(delivered >= 7, `the clients got user_joined and 3 new_message each (${delivered})`);
  assert.equal(value(during, 'parley_http_requests_total', { route: '/healthz', method: 'GET', status: '200' }) - healthBefore, 5);
  assert.equal(value(during, 'parley_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }) - unmatchedBefore, 2);
  assert.equal(value(during, 'parley_http_requests_total', { route: '/api/register', method: 'POST', status: '201' }), 2);
  assert.equal(value(during, 'parley_http_requests_total', { route: '/api/create-chatroom', method: 'POST', status: '201' }), 1);
  assert.ok(!JSON.stringify([...during.values()]).includes('/api/nothing/here'), 'raw paths are never labels');
  // The histogram agrees with the counter: +Inf bucket == count == requests to the route.
  // (parse-prometheus-text-format 1.1.1 folds labelled histograms into one series, so these
  // lines are read directly.)
  const text = (await scrape(TOKEN)).text;
  const sample = (re) => Number(text.match(re)?.[1]);
  const count = sample(/^parley_http_request_duration_seconds_count\{route="\/healthz"\} (\d+)$/m);
  assert.equal(count, value(during, 'parley_http_requests_total', { route: '/healthz' }));
  assert.equal(sample(/^parley_http_request_duration_seconds_bucket\{route="\/healthz",le="\+Inf"\} (\d+)$/m), count);
  assert.ok(sample(/^parley_http_request_duration_seconds_bucket\{route="\/healthz",le="0.005"\} (\d+)$/m) <= count);

  a.disconnect();
  b.disconnect();
  let after = await families();
  for (let i = 0; i < 50 && value(after, 'parley_socketio_connections') !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await families();
  }
  assert.equal(value(after, 'parley_socketio_connections'), 0);
});

test('bad callers are refused: no token, wrong token, not an administrator', async () => {
  const missing = await scrape(null);
  assert.equal(missing.status, 401);
  assert.equal(JSON.parse(missing.text).error.code, 'unauthorized');
  assert.equal((await scrape('wrong-token-0123456789')).status, 401);
  assert.equal((await scrape('')).status, 401);

  const user = await parley.register('nobody');
  assert.equal((await parley.api('/api/admin/metrics', { method: 'GET' })).status, 401);
  const refused = await parley.api('/api/admin/metrics', { method: 'GET', token: user.token });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'forbidden');
  // The metrics token is not an account token.
  assert.equal((await parley.api('/api/admin/metrics', { method: 'GET', token: TOKEN })).status, 401);
});

test('administrators get usage statistics and the sampled history', async () => {
  const boss = await parley.register('boss');
  const bad = await parley.api('/api/admin/metrics?series=no%20spaces', { method: 'GET', token: boss.token });
  assert.equal(bad.status, 400);
  const stats = await parley.api('/api/admin/metrics', { method: 'GET', token: boss.token });
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  assert.ok(stats.body.messages.total >= 3);
  assert.ok(stats.body.messages.last_24h >= 3);
  assert.ok(stats.body.active_users.last_24h >= 1);
  assert.equal(typeof stats.body.speech.minutes_total, 'number');
  assert.equal(typeof stats.body.translation.characters_since_start, 'number');

  // PARLEY_METRICS_SAMPLE_SECONDS=1: rows appear within a few seconds.
  let series;
  for (let i = 0; i < 50; i++) {
    const res = await parley.api('/api/admin/metrics?series=process_resident_memory_bytes&since=0', { method: 'GET', token: boss.token });
    assert.equal(res.status, 200);
    series = res.body.series;
    if (series.points.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(series.name, 'process_resident_memory_bytes');
  assert.ok(series.points.length > 0, 'the sampler stored rows');
  assert.ok(series.points[0].value > 0);
  assert.equal(typeof series.points[0].labels.node, 'string');
});
