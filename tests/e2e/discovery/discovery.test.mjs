// Discovery over HTTP against the real server: rooms near a place (across the antimeridian and
// at a pole, private rooms never listed, paging by cursor, bad parameters refused) and search in
// a room's history (originals and stored translations, members only, the query never syntax).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, call } from '../realtime/harness.mjs';

let parley;
let owner;
let stranger;

const get = async (user, path) => {
  const res = await fetch(parley.base + path, { headers: { Authorization: `Bearer ${user.token}` } });
  return { status: res.status, body: await res.json() };
};
const create = async (name, latitude, longitude, isPrivate = false) => (await parley.api('/api/create-chatroom', {
  token: owner.token, body: { name, is_private: isPrivate, location: { latitude, longitude } },
})).body.chatroom.id;

before(async () => {
  parley = await startParley();
  owner = await parley.register('olga');
  stranger = await parley.register('otto');
});
after(async () => { if (parley) assert.equal(await parley.stop(), 0); });

test('nearby rooms: across the antimeridian, at the pole, nearest first, paged, private ones never', async () => {
  const fiji = await create('Suva', -18.14, 178.44);
  const taveuni = await create('Taveuni', -16.8, -179.98);
  await create('hidden', -17, 179.9, true);
  const pole = await create('Pole camp', 89.95, -60);
  const near = await get(stranger, '/api/chatrooms/nearby?lat=-17&lon=180&radius_km=300');
  assert.equal(near.status, 200);
  assert.deepEqual(near.body.chatrooms.map((r) => r.id), [taveuni, fiji]);
  assert.ok(near.body.chatrooms[0].distance_km < near.body.chatrooms[1].distance_km);
  assert.equal(near.body.next_cursor, null);
  const page1 = await get(stranger, '/api/chatrooms/nearby?lat=-17&lon=180&radius_km=300&limit=1');
  assert.deepEqual(page1.body.chatrooms.map((r) => r.id), [taveuni]);
  const page2 = await get(stranger, `/api/chatrooms/nearby?lat=-17&lon=180&radius_km=300&limit=1&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
  assert.deepEqual(page2.body.chatrooms.map((r) => r.id), [fiji]);
  const polar = await get(stranger, '/api/chatrooms/nearby?lat=90&lon=120&radius_km=20');
  assert.deepEqual(polar.body.chatrooms.map((r) => r.id), [pole]);

  // The owner moves a room; removing its location takes it out of every search.
  const moved = await parley.api(`/api/chatrooms/${fiji}/location`, { token: owner.token, body: { latitude: 48.85, longitude: 2.35, venue: 'Paris' } });
  assert.equal(moved.status, 200);
  assert.equal(moved.body.chatroom.location.venue, 'Paris');
  assert.deepEqual((await get(stranger, '/api/chatrooms/nearby?lat=48.86&lon=2.34&radius_km=5')).body.chatrooms.map((r) => r.id), [fiji]);
  assert.equal((await parley.api(`/api/chatrooms/${fiji}/location`, { token: stranger.token, body: { latitude: 1, longitude: 1 } })).status, 403);
  assert.equal((await parley.api(`/api/chatrooms/${fiji}/location`, { token: owner.token, body: { latitude: 100, longitude: 1 } })).status, 422);
  assert.equal((await parley.api(`/api/chatrooms/${fiji}/location`, { method: 'DELETE', token: owner.token })).status, 200);
  assert.deepEqual((await get(stranger, '/api/chatrooms/nearby?lat=48.86&lon=2.34&radius_km=5')).body.chatrooms, []);

  for (const bad of ['lat=91&lon=0', 'lat=0&lon=181', 'lat=0', 'lon=0', 'lat=x&lon=0', 'lat=0&lon=0&radius_km=0',
    'lat=0&lon=0&radius_km=5000', 'lat=0&lon=0&limit=51', 'lat=0&lon=0&cursor=nonsense', 'lat=NaN&lon=0']) {
    const res = await get(stranger, `/api/chatrooms/nearby?${bad}`);
    assert.equal(res.status, 422, bad);
    assert.equal(res.body.error.code, 'validation_failed', bad);
  }
  assert.equal((await fetch(`${parley.base}/api/chatrooms/nearby?lat=0&lon=0`)).status, 401);
});

test('history search: originals and translations, members only, input is never syntax', async () => {
  const room = (await parley.api('/api/create-chatroom', { token: owner.token, body: { name: 'talk' } })).body.chatroom.id;
  const socket = parley.connect(owner.token);
  await new Promise((resolve) => socket.on('connect', resolve));
  await call(socket, 'join_room', { room });
  for (const text of ['Buenos días, cómo estás', 'The quick brown fox', 'fox and hound', '" OR room:r1 AND body:(x)']) {
    await call(socket, 'send_message', { room, text });
  }
  const foxes = await get(owner, `/api/chatrooms/${room}/search?q=fox`);
  assert.equal(foxes.status, 200);
  assert.equal(foxes.body.results.length, 2);
  assert.ok(foxes.body.results.every((r) => r.matched.original && /fox/.test(r.message.text)));
  assert.equal((await get(owner, `/api/chatrooms/${room}/search?q=como`)).body.results[0].message.text, 'Buenos días, cómo estás');
  // The Spanish message's English translation (Apertium, stored by the queue) is searchable.
  let translated = [];
  for (let i = 0; i < 50 && translated.length === 0; i++) {
    translated = (await get(owner, `/api/chatrooms/${room}/search?q=good`)).body.results;
    if (translated.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(translated.length, 1);
  assert.deepEqual(translated[0].matched, { original: false, languages: ['en'] });

  const literal = await get(owner, `/api/chatrooms/${room}/search?q=${encodeURIComponent('" OR room:r1')}`);
  assert.equal(literal.status, 200);
  assert.deepEqual(literal.body.results.map((r) => r.message.text), ['" OR room:r1 AND body:(x)']);
  assert.equal((await get(stranger, `/api/chatrooms/${room}/search?q=fox`)).status, 404, 'members only');
  assert.equal((await get(owner, '/api/chatrooms/999999/search?q=fox')).status, 404);
  assert.equal((await get(owner, `/api/chatrooms/${room}/search?q=%21%3F`)).status, 422);
  assert.equal((await get(owner, `/api/chatrooms/${room}/search`)).status, 422);
  assert.equal((await get(owner, `/api/chatrooms/${room}/search?q=${'a'.repeat(201)}`)).status, 422);
  assert.equal((await get(owner, `/api/chatrooms/${room}/search?q=fox&limit=0`)).status, 422);
  socket.disconnect();
});
