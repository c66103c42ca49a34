// Room glossaries (issue 11) through the real server, socket.io-client, Apertium (en -> es) and a
// local OpenAI-compatible fake (en -> de, a pair Apertium lacks here): owners and admins fix
// terms, both engines honour them (Apertium: protected and substituted; OpenAI: told in the
// prompt, checked in the output, protected when it does not follow), members propose fixes from
// a message and admins accept or reject them, and every change is a version in the history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, next, nextWhere, call } from '../realtime/harness.mjs';
import { startFake } from '../fake_services.mjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSpeech, chunksOf } from '../speech/speech_tools.mjs';

let parley;
let openai;
let elevenlabs;
let work;
let room;
let otherRoom;
const users = {};
const sockets = {};

const completion = (content) => ({
  status: 200,
  body: {
    id: 'chatcmpl-glossary', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  },
});

const glossaryPath = (r = room) => `/api/chatrooms/${r}/glossary`;
const put = (token, body, r = room) => parley.api(`${glossaryPath(r)}/terms`, { method: 'PUT', token, body });

/** Sends a message as `name` and resolves with {message, es, de}: the translations bob and carl get. */
async function say(name, text) {
  const forBob = nextWhere(sockets.bob, 'translation_result', (r) => r.text !== undefined || r.error, 30000);
  const forCarl = nextWhere(sockets.carl, 'translation_result', (r) => r.text !== undefined || r.error, 30000);
  const ack = await call(sockets[name], 'send_message', { room, text });
  assert.equal(ack.error, undefined, JSON.stringify(ack));
  const [es, de] = await Promise.all([forBob, forCarl]);
  return { id: ack.id ?? ack.message?.id, es, de };
}

before(async () => {
  openai = await startFake('tests/fakes/openai.mjs');
  elevenlabs = await startFake('tests/fakes/elevenlabs.mjs');
  parley = await startParley({
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${openai.base}/v1`,
    ELEVENLABS_API_KEY: 'el-test',
    ELEVENLABS_BASE_URL: elevenlabs.base,
    PARLEY_TTS_ENGINE: 'elevenlabs',
  });
  users.ana = await parley.register('ana', 'en');    // owner
  users.bob = await parley.register('bob', 'es');    // member, reads Spanish (Apertium)
  users.carl = await parley.register('carl', 'de');  // member, reads German (OpenAI)
  users.eve = await parley.register('eve', 'en');    // not a member
  const created = await parley.api('/api/create-chatroom', { token: users.ana.token, body: { name: 'release team', is_private: false } });
  room = created.body.chatroom.id;
  otherRoom = (await parley.api('/api/create-chatroom', { token: users.eve.token, body: { name: 'elsewhere', is_private: false } })).body.chatroom.id;
  for (const name of ['bob', 'carl']) {
    assert.equal((await parley.api('/api/join-chatroom', { token: users[name].token, body: { chatroom_id: room } })).status, 200);
  }
  for (const name of ['ana', 'bob', 'carl']) {
    sockets[name] = parley.connect(users[name].token, { transports: ['websocket'] });
    await next(sockets[name], 'connect');
    assert.equal((await call(sockets[name], 'join_room', { room })).ok, true);
  }
});

after(async () => {
  assert.equal(await parley.stop(), 0);
  openai.stop();
  elevenlabs.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('without a glossary the engines translate freely', async () => {
  await openai.script({ responses: [completion('Die Release-Notizen für Parley sind fertig.')] });
  const { es, de } = await say('ana', 'The release notes for Parley are ready.');
  assert.equal(es.engine, 'apertium');
  assert.doesNotMatch(es.text, /notas de versión/);
  assert.equal(de.engine, 'openai');
  assert.equal(de.text, 'Die Release-Notizen für Parley sind fertig.');
  const requests = (await openai.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.doesNotMatch(JSON.parse(requests.at(-1).body).messages[0].content, /glossary/);
});

test('owners and admins set terms; members read them; bad input and outsiders are refused', async () => {
  assert.equal((await parley.api(glossaryPath(), { method: 'GET' })).status, 401);
  assert.equal((await parley.api(glossaryPath(), { method: 'GET', token: users.eve.token })).status, 404, 'not a member');
  const empty = await parley.api(glossaryPath(), { method: 'GET', token: users.bob.token });
  assert.deepEqual(empty.body.glossary, { room, version: 0, terms: [] });

  const member = await put(users.bob.token, { term: 'release notes', translations: { es: 'notas' } });
  assert.equal(member.status, 403);
  assert.equal(member.body.error.code, 'forbidden');
  for (const [body, why] of [
    [{ term: 'release notes' }, 'neither a translation nor a pronunciation'],
    [{ term: 'release notes', translations: { 'not a tag!': 'x' } }, 'a bad language tag'],
    [{ term: 'release notes', translations: { es: 42 } }, 'a translation that is not text'],
    [{ term: 'release notes', translations: ['es'] }, 'translations that are not an object'],
    [{ term: '   ', translations: { es: 'x' } }, 'an empty term'],
    [{ term: 'x'.repeat(101), translations: { es: 'x' } }, 'a term too long'],
    [{ term: 'release notes', translations: { es: 'a\u0007b' } }, 'a control character'],
  ]) {
    const refused = await put(users.ana.token, body);
    assert.equal(refused.status, 422, `${why}: ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body.error.code, 'validation_failed');
  }
  assert.equal((await put(users.ana.token, { term: 'x', translations: { es: 'y' } }, room + 100000)).status, 404);

  const first = await put(users.ana.token, { term: 'Release notes', translations: { es: 'notas de versión', de: 'Versionshinweise' } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.glossary.version, 1);
  const second = await put(users.ana.token, { term: 'Parley', translations: { es: 'Parley', de: 'Parley' }, pronunciation: 'par lay' });
  assert.equal(second.body.glossary.version, 2);
  const read = await parley.api(glossaryPath(), { method: 'GET', token: users.carl.token });
  assert.equal(read.body.glossary.version, 2);
  assert.deepEqual(read.body.glossary.terms.map((t) => [t.term, t.translations, t.pronunciation]), [
    ['Parley', { de: 'Parley', es: 'Parley' }, 'par lay'],
    ['Release notes', { de: 'Versionshinweise', es: 'notas de versión' }, null],
  ]);
});

test('both engines honour the glossary: Apertium by substitution, OpenAI by instruction (checked) or substitution', async () => {
  // OpenAI follows the instruction: one request, the glossary in its system prompt.
  await openai.reset();
  await openai.script({ responses: [completion('Die Versionshinweise für Parley sind jetzt fertig.')] });
  const one = await say('ana', 'The release notes for Parley are now ready.');
  assert.match(one.es.text, /notas de versión/, JSON.stringify(one.es));
  assert.match(one.es.text, /Parley/);
  assert.equal(one.es.engine, 'apertium');
  assert.equal(one.de.text, 'Die Versionshinweise für Parley sind jetzt fertig.');
  let requests = (await openai.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.equal(requests.length, 1);
  const prompt = JSON.parse(requests[0].body).messages[0].content;
  assert.match(prompt, /"Release notes" -> "Versionshinweise"/);
  assert.match(prompt, /"Parley" -> "Parley"/);
  assert.equal(JSON.parse(requests[0].body).messages[1].content, 'The release notes for Parley are now ready.');

  // OpenAI ignores it: Parley notices, protects the term and puts it in itself.
  await openai.reset();
  await openai.script({ responses: [completion('Die Notizen sind morgen fertig.'), completion('Die ZQ1Q sind morgen fertig.')] });
  const two = await say('ana', 'The release notes are ready tomorrow.');
  assert.equal(two.de.text, 'Die Versionshinweise sind morgen fertig.');
  requests = (await openai.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.equal(requests.length, 2);
  assert.equal(JSON.parse(requests[1].body).messages.at(-1).content, 'The ZQ1Q are ready tomorrow.');
  assert.match(two.es.text, /notas de versión/);

  // History keeps the glossary's translation of the message.
  const page = await parley.api('/api/get-chatroom-messages', { token: users.carl.token, body: { chatroom_id: room } });
  const stored = page.body.messages.find((m) => m.text === 'The release notes are ready tomorrow.');
  assert.equal(stored?.translation?.text, 'Die Versionshinweise sind morgen fertig.', JSON.stringify(stored));
});

test('members propose a fix from a message; owners accept or reject it; the glossary is versioned', async () => {
  await openai.script({ responses: [completion('Die Deadline ist Freitag.')] });
  const message = await say('ana', 'The deadline is Friday.');
  assert.equal(message.de.text, 'Die Deadline ist Freitag.');
  const messageId = message.de.message_id;
  const propose = (token, body, r = room) => parley.api(`${glossaryPath(r)}/proposals`, { token, body });

  for (const [body, status, code] of [
    [{ term: 'weekend', language: 'de', translation: 'Wochenende', message_id: messageId }, 422, 'validation_failed'],
    [{ term: 'deadline', language: 'nope!', translation: 'Frist' }, 422, 'validation_failed'],
    [{ term: 'deadline', translation: 'Frist' }, 422, 'validation_failed'],
    [{ term: 'deadline', language: 'de', translation: 'Frist', message_id: 999999 }, 404, 'not_found'],
  ]) {
    const refused = await propose(users.carl.token, body);
    assert.equal(refused.status, status, JSON.stringify([body, refused.body]));
    assert.equal(refused.body.error.code, code);
  }
  assert.equal((await propose(users.eve.token, { term: 'deadline', language: 'de', translation: 'Frist' })).status, 404, 'not a member');

  const proposed = await propose(users.carl.token, { term: 'deadline', language: 'de', translation: 'Frist', message_id: messageId, note: 'we say Frist' });
  assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
  assert.equal(proposed.body.proposal.status, 'open');
  const junk = await propose(users.bob.token, { term: 'Friday', language: 'es', translation: 'viernes santo', message_id: messageId });
  assert.equal(junk.status, 201);

  // Members see their own proposals, the owner sees every one.
  const mine = await parley.api(`${glossaryPath()}/proposals`, { method: 'GET', token: users.carl.token });
  assert.deepEqual(mine.body.proposals.map((p) => p.term), ['deadline']);
  const all = await parley.api(`${glossaryPath()}/proposals`, { method: 'GET', token: users.ana.token });
  assert.deepEqual(all.body.proposals.map((p) => p.term), ['Friday', 'deadline']);

  const decide = (token, id, verdict) => parley.api(`${glossaryPath()}/proposals/${id}/${verdict}`, { token, body: {} });
  assert.equal((await decide(users.bob.token, proposed.body.proposal.id, 'accept')).status, 403, 'members do not decide');
  const accepted = await decide(users.ana.token, proposed.body.proposal.id, 'accept');
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.proposal.status, 'accepted');
  assert.equal(accepted.body.proposal.version, 3);
  assert.equal((await decide(users.ana.token, proposed.body.proposal.id, 'reject')).status, 409, 'decided already');
  const rejected = await decide(users.ana.token, junk.body.proposal.id, 'reject');
  assert.equal(rejected.body.proposal.status, 'rejected');
  assert.equal(rejected.body.proposal.version, null);
  assert.equal((await decide(users.ana.token, 999999, 'accept')).status, 404);

  // The accepted fix is honoured from now on.
  await openai.script({ responses: [completion('Die Frist ist Montag.')] });
  const next = await say('ana', 'The deadline is Monday.');
  assert.equal(next.de.text, 'Die Frist ist Montag.');
  const requests = (await openai.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.match(JSON.parse(requests.at(-1).body).messages[0].content, /"deadline" -> "Frist"/);

  // Removing a term is a version too; the history says who changed what, newest first.
  const glossary = (await parley.api(glossaryPath(), { method: 'GET', token: users.ana.token })).body.glossary;
  const parleyTerm = glossary.terms.find((t) => t.term === 'Parley');
  assert.equal((await parley.api(`${glossaryPath()}/terms/${parleyTerm.id}`, { method: 'DELETE', token: users.bob.token })).status, 403);
  const removed = await parley.api(`${glossaryPath()}/terms/${parleyTerm.id}`, { method: 'DELETE', token: users.ana.token });
  assert.equal(removed.status, 200);
  assert.equal(removed.body.glossary.version, 4);
  assert.equal((await parley.api(`${glossaryPath()}/terms/${parleyTerm.id}`, { method: 'DELETE', token: users.ana.token })).status, 404);
  const history = await parley.api(`${glossaryPath()}/history`, { method: 'GET', token: users.bob.token });
  assert.deepEqual(history.body.changes.map((c) => [c.version, c.action, c.term]), [
    [4, 'remove', 'Parley'], [3, 'accept', 'deadline'], [2, 'set', 'Parley'], [1, 'set', 'Release notes'],
  ]);
  assert.equal(history.body.changes[1].proposal_id, proposed.body.proposal.id);
  assert.equal(history.body.changes[1].before, null);
  assert.deepEqual(history.body.changes[1].after.translations, { de: 'Frist' });
  assert.equal(history.body.changes[0].after, null);
  assert.equal(history.body.changes[0].changed_by, users.ana.id);
  assert.equal((await parley.api(`/api/chatrooms/${otherRoom}/glossary/history`, { method: 'GET', token: users.bob.token })).status, 404);
});

test('speech is biased toward the glossary where the engine allows, and synthesis says terms as pronounced', async () => {
  const set = await put(users.ana.token, { term: 'Parley', translations: { es: 'Parley', de: 'Parley' }, pronunciation: 'par lay' });
  assert.equal(set.status, 200);

  // A Spanish stream goes to the OpenAI-compatible recognizer: the room's terms are its prompt.
  work = mkdtempSync(join(tmpdir(), 'parley-glossary-e2e-'));
  const speech = makeSpeech(work, ['hello everybody and welcome']);
  await openai.reset();
  await openai.script({ transcript: 'Hola a todos y bienvenidos a Parley' });
  const started = await call(sockets.bob, 'audio_stream', { action: 'start', stream_id: 'g1', room, codec: 'webm-opus', language: 'es' });
  assert.equal(started.error, undefined, JSON.stringify(started));
  assert.equal(started.engine, 'openai');
  for (const piece of chunksOf(readFileSync(speech.webm), 4096)) {
    assert.equal((await call(sockets.bob, 'audio_stream', { action: 'chunk', stream_id: 'g1' }, 5000, piece)).error, undefined);
  }
  const heard = nextWhere(sockets.ana, 'audio_transcription', (e) => e.is_final && e.stream_id === 'g1', 30000);
  await call(sockets.bob, 'audio_stream', { action: 'stop', stream_id: 'g1' });
  assert.equal((await heard).text, 'Hola a todos y bienvenidos a Parley');
  const transcriptions = (await openai.requests()).filter((r) => r.path === '/v1/audio/transcriptions');
  assert.ok(transcriptions.length >= 1);
  const prompt = transcriptions[0].parts.find((p) => p.name === 'prompt');
  assert.ok(prompt, 'a prompt part');
  assert.match(prompt.text, /^Glossary: /);
  for (const term of ['Parley', 'Release notes', 'deadline']) assert.match(prompt.text, new RegExp(term));

  // Synthesis: carl hears Spanish in a neutral voice; "Parley" is said as "par lay".
  assert.equal((await call(sockets.carl, 'set_language', { room, language: 'es' })).language, 'es');
  assert.equal((await call(sockets.carl, 'set_voice_mode', { room, mode: 'neutral' })).mode, 'neutral');
  const spoken = nextWhere(sockets.carl, 'tts_audio', () => true, 30000);
  const ack = await call(sockets.ana, 'send_message', { room, text: 'Parley is ready for everyone' });
  assert.equal(ack.error, undefined);
  const audio = await spoken;
  assert.equal(audio.engine, 'elevenlabs');
  const synthesized = (await elevenlabs.requests()).filter((r) => /text-to-speech/.test(r.path));
  const said = synthesized.map((r) => JSON.parse(r.body).text);
  assert.ok(said.some((t) => t.includes('par lay') && !t.includes('Parley')), JSON.stringify(said));
});
