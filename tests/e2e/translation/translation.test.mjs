// Translation over HTTP with the embedded engines (Apertium pairs from Debian, CLD2), through the
// real server: installed pairs listed, detection on real sentences, direct and pivot
// translations, and the refusals (unsupported pair, undetectable text, bad fields).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../realtime/harness.mjs';

let parley;
let user;
before(async () => {
  parley = await startParley();
  user = await parley.register('translator');
});
after(async () => { assert.equal(await parley.stop(), 0); });

const post = (path, body) => parley.api(path, { token: user.token, body });

test('GET /api/languages lists the installed Apertium pairs', async () => {
  const res = await parley.api('/api/languages', { method: 'GET' });
  assert.equal(res.status, 200);
  const apertium = res.body.engines.find((e) => e.name === 'apertium');
  const has = (s, t) => apertium.pairs.some((p) => p.source === s && p.target === t);
  for (const [s, t] of [['en', 'es'], ['es', 'en'], ['en', 'ca'], ['es', 'ca'], ['es', 'it']]) assert.ok(has(s, t), `${s}-${t}`);
  assert.equal(res.body.detection, 'cld2');
  assert.equal(res.body.engines.some((e) => e.name === 'openai'), false, 'no key, no cloud engine');
});

test('language detection on real sentences, with the hint for short text', async () => {
  const sentences = {
    en: 'The meeting has been moved to Thursday afternoon because of the holiday.',
    es: 'La reunión se ha trasladado al jueves por la tarde debido al día festivo.',
    ca: 'La reunió s\'ha traslladat a dijous a la tarda a causa del dia festiu.',
    fr: 'La réunion a été déplacée à jeudi après-midi en raison du jour férié.',
    de: 'Das Treffen wurde wegen des Feiertags auf Donnerstagnachmittag verschoben.',
    it: 'La riunione è stata spostata a giovedì pomeriggio a causa della festività.',
  };
  for (const [language, text] of Object.entries(sentences)) {
    const res = await post('/api/detect-language', { text });
    assert.equal(res.status, 200);
    assert.equal(res.body.language, language, text);
    assert.equal(res.body.reliable, true);
  }
  const short = await post('/api/detect-language', { text: 'ok', hint: 'pt-BR' });
  assert.deepEqual([short.body.language, short.body.from_hint], ['pt', true]);
  assert.equal((await post('/api/detect-language', {})).status, 422);
  assert.equal((await parley.api('/api/detect-language', { body: { text: 'hello there' } })).status, 401);
});

test('translation: direct pairs, detected source, a pivot, and clear refusals', async () => {
  const es = await post('/api/translate', { text: 'The house is big.', source: 'en', target: 'es' });
  assert.equal(es.status, 200, JSON.stringify(es.body));
  assert.match(es.body.text, /casa/i);
  assert.deepEqual([es.body.engine, es.body.source, es.body.target, es.body.via], ['apertium', 'en', 'es', []]);
  const ca = await post('/api/translate', { text: 'The dog is in the house.', target: 'ca' });
  assert.equal(ca.status, 200);
  assert.equal(ca.body.source, 'en');
  assert.equal(ca.body.source_detected, true);
  assert.match(ca.body.text, /casa/i);
  const it = await post('/api/translate', { text: 'The house is big.', source: 'en', target: 'it' });
  assert.equal(it.status, 200, JSON.stringify(it.body));
  assert.deepEqual(it.body.via, ['es'], 'Italian goes through Spanish, and says so');
  const ja = await post('/api/translate', { text: 'The house is big.', source: 'en', target: 'ja' });
  assert.equal(ja.status, 422);
  assert.equal(ja.body.error.code, 'unsupported');
  assert.match(ja.body.error.message, /'ja'/);
  assert.equal((await post('/api/translate', { text: 'hello', source: 'en', target: 'en' })).status, 422);
  assert.equal((await post('/api/translate', { text: '!!!', target: 'es' })).status, 422, 'undetectable source');
  assert.equal((await post('/api/translate', { text: 'hello', source: 'en' })).status, 422, 'target required');
  assert.equal((await post('/api/translate', { text: 'hello', source: 'english!', target: 'es' })).status, 422);
  assert.equal((await post('/api/translate', { text: '', target: 'es' })).status, 422);
  assert.equal((await post('/api/translate', { text: 'x'.repeat(20000), source: 'en', target: 'es' })).status, 422);
});
