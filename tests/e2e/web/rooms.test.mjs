// The web client in a real browser (Debian's Chromium, driven by playwright-core) against the
// real server: an English speaker and a Spanish reader sign up, meet in a private room through an
// invite link, type to each other (each reads the other in their own language), and the speaker
// talks through a fake microphone fed from a WAV file; the reader sees the live caption and then
// the transcribed text in Spanish. Then the owner's controls, settings, the Chinese interface and a
// phone-sized screen. Screenshots of each screen go to PARLEY_ARTIFACTS_DIR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParley } from '../realtime/harness.mjs';
import { artifactsDir, buildClient, launchBrowser, messageTexts, openPage } from './browser.mjs';

const SPOKEN = 'hello how are you doing today';
const PASSWORD = 'a long browser passphrase';

let parley;
let web;
let work;
let browser;
let speaker; // page of the English speaker (room owner)
let reader; // page of the Spanish reader
let inviteLink;
const shots = artifactsDir();

/** The fake microphone's input: flite's voice, 48 kHz mono, silence around it. */
function makeMicrophoneFile(folder) {
  const spoken = join(folder, 'spoken.wav');
  execFileSync('flite', ['-voice', 'slt', '-t', SPOKEN, '-o', spoken]);
  const mic = join(folder, 'microphone.wav');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', spoken, '-af', 'adelay=600:all=1,apad=pad_dur=4',
    '-ac', '1', '-ar', '48000', '-c:a', 'pcm_s16le', mic]);
  const seconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', spoken]).toString());
  return { mic, speechSeconds: seconds };
}

async function translate(text, source, target) {
  const res = await fetch(`${parley.base}/api/translate`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await tokenOf(speaker)}` },
    body: JSON.stringify({ text, source, target }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).text;
}

const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('parley.session')).access_token);

async function signUp(page, { email, username, language }) {
  await page.goto(parley.base);
  await page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await page.locator('#signup-email').fill(email);
  await page.locator('#signup-username').fill(username);
  await page.locator('#signup-password').fill(PASSWORD);
  await page.locator('#signup-language').selectOption(language);
  await page.getByRole('button', { name: 'Create account' }).click();
}

let microphone;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-web-e2e-'));
  microphone = makeMicrophoneFile(work);
  web = buildClient();
  parley = await startParley({ PARLEY_WEB_DIR: web });
  browser = await launchBrowser({ fakeAudio: microphone.mic });
  speaker = await openPage(browser, { locale: 'en-US' });
  reader = await openPage(browser, { locale: 'es-ES' });
});

after(async () => {
  await browser?.close();
  if (parley) assert.equal(await parley.stop(), 0);
  if (web) rmSync(web, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the page is served with its security policy and the Stripe return pages lead into it', async () => {
  const page = await fetch(`${parley.base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  assert.match(await page.text(), /<meta name="parley-server" content="">/);
  const success = await fetch(`${parley.base}/payment/success?session_id=cs_test_a1B2`, { redirect: 'manual' });
  assert.equal(success.status, 302);
  assert.equal(success.headers.get('location'), '/#/plan?session_id=cs_test_a1B2');
  const forged = await fetch(`${parley.base}/payment/success?session_id=cs_x%22%3E%3Cscript%3E`, { redirect: 'manual' });
  assert.equal(forged.headers.get('location'), '/#/plan', 'a session id not of Stripe\'s shape is dropped');
  const cancelled = await fetch(`${parley.base}/payment/cancel`, { redirect: 'manual' });
  assert.equal(cancelled.headers.get('location'), '/#/plan?checkout=cancelled');
});

test('sign-up refusals are shown in plain words and keep what was typed', async () => {
  await speaker.goto(parley.base);
  await speaker.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await speaker.screenshot({ path: join(shots, '01-welcome.png'), fullPage: true });
  // A wrong password: the server answers 401, which Chromium also logs as a failed resource.
  speaker.expectErrors(/status of 401/);
  await speaker.locator('#login-email').fill('nobody@example.test');
  await speaker.locator('#login-password').fill('wrong password');
  await speaker.getByRole('button', { name: 'Sign in' }).last().click();
  const alert = speaker.locator('form[aria-label="Sign in"] [role="alert"]');
  await alert.waitFor({ state: 'visible' });
  assert.match(await alert.innerText(), /wrong sign-in details/i);
  assert.equal(await speaker.locator('#login-email').inputValue(), 'nobody@example.test');
  speaker.allowed.length = 0;
});

test('two people meet in a private room through an invite link', async () => {
  await signUp(speaker, { email: 'ellen@example.test', username: 'ellen', language: 'en' });
  await speaker.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await speaker.locator('#room-name').fill('Team sync');
  await speaker.locator('#room-private').check();
  await speaker.getByRole('button', { name: 'Create room' }).click();
  await speaker.locator('#room-title', { hasText: 'Team sync' }).waitFor();
  await speaker.locator('#create-invite').click();
  const link = speaker.locator('#invite-link');
  await link.waitFor({ state: 'visible' });
  inviteLink = await link.inputValue();
  assert.match(inviteLink, /#\/join\/\d+\/[A-Za-z0-9_-]+$/);
  await speaker.screenshot({ path: join(shots, '02-room-owner.png'), fullPage: true });

  // The reader follows the link before having an account: sign up first, then back to the link.
  await reader.goto(inviteLink);
  await reader.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await reader.locator('#signup-email').fill('sofia@example.test');
  await reader.locator('#signup-username').fill('sofia');
  await reader.locator('#signup-password').fill(PASSWORD);
  await reader.locator('#signup-language').selectOption('es');
  await reader.getByRole('button', { name: 'Create account' }).click();
  await reader.locator('#room-title', { hasText: 'Team sync' }).waitFor();

  // Presence: each sees the other online.
  await speaker.locator('#members li', { hasText: 'sofia' }).filter({ hasText: 'online' }).waitFor();
  await reader.locator('#members li', { hasText: 'ellen' }).filter({ hasText: 'online' }).waitFor();
  assert.equal(await reader.locator('#connection').getAttribute('data-state'), 'connected');
});

test('typed messages reach each reader in their language, with the original on demand', async () => {
  const english = 'Good morning, my friends.';
  const spanishForReader = await translate(english, 'en', 'es');
  await speaker.locator('#message-input').fill(english);
  await speaker.keyboard.press('Enter');
  await speaker.locator('#messages article.message', { hasText: english }).waitFor();
  const received = reader.locator('#messages article.message', { hasText: spanishForReader });
  await received.waitFor();
  await received.getByRole('button', { name: /Show original/ }).click();
  await received.locator('.original', { hasText: english }).waitFor();

  // Typing is shown to the other side while the reader writes.
  await reader.locator('#message-input').pressSequentially('Hola');
  await speaker.locator('#typing', { hasText: 'sofia is typing' }).waitFor();
  await reader.locator('#message-input').fill('Hola, ¿cómo estás? Yo estoy muy bien.');
  await reader.locator('#send').click();
  const englishForSpeaker = await translate('Hola, ¿cómo estás? Yo estoy muy bien.', 'es', 'en');
  await speaker.locator('#messages article.message', { hasText: englishForSpeaker }).waitFor();
  await reader.screenshot({ path: join(shots, '03-room-reader-spanish.png'), fullPage: true });
});

test('the speaker talks through the microphone; the reader sees the live caption, then Spanish text', async () => {
  // Watch the reader's live captions from now on.
  await reader.evaluate(() => {
    window.seenCaptions = [];
    new MutationObserver(() => {
      const text = document.getElementById('live-captions')?.innerText.trim();
      if (text) window.seenCaptions.push(text);
    }).observe(document.getElementById('live-captions'), { childList: true, subtree: true, characterData: true });
  });
  const before = (await messageTexts(reader)).length;
  const button = speaker.locator('#push-to-talk');
  await button.hover();
  await speaker.mouse.down();
  await speaker.locator('#push-to-talk[aria-pressed="true"]', { hasText: 'Release to send' }).waitFor();
  // Hold for the lead-in silence, the sentence and a little more; the file plays from the start.
  await speaker.waitForTimeout(600 + microphone.speechSeconds * 1000 + 900);
  await speaker.mouse.up();
  await speaker.locator('#push-to-talk[aria-pressed="false"]').waitFor();

  // The speaker's own message: what pocketsphinx heard, marked as spoken.
  const own = speaker.locator('#messages article.message', { hasText: 'spoken' }).last();
  await own.waitFor({ timeout: 30000 });
  const heard = (await own.locator('.text').first().innerText()).trim();
  // pocketsphinx on a fake microphone: most of the sentence, not always every word.
  const heardWords = new Set(heard.toLowerCase().split(/\s+/));
  const matched = SPOKEN.split(' ').filter((word) => heardWords.has(word)).length;
  assert.ok(matched >= 4, `recognized "${heard}": ${matched} of 6 words`);

  // The reader: the same utterance in Spanish.
  const spanish = await translate(heard, 'en', 'es');
  await reader.locator('#messages article.message', { hasText: spanish }).waitFor({ timeout: 30000 });
  assert.ok((await messageTexts(reader)).length > before);
  const captions = await reader.evaluate(() => window.seenCaptions);
  assert.ok(captions.some((c) => /ellen/.test(c)), `the reader saw a live caption: ${JSON.stringify(captions)}`);
  await reader.screenshot({ path: join(shots, '04-room-reader-speech.png'), fullPage: true });
});

test('the reader searches the room: a Spanish word finds the English message through its translation', async () => {
  await reader.locator('#history-search').fill('amigos');
  await reader.getByRole('button', { name: 'Search', exact: true }).click();
  const hit = reader.locator('#search-results li', { hasText: 'Good morning, my friends.' });
  await hit.waitFor();
  await hit.filter({ hasText: 'Found in its translation into Spanish' }).waitFor();
  assert.equal(await reader.locator('#search-results li').count(), 1);
  await reader.locator('#history-search').fill('hola');
  await reader.getByRole('button', { name: 'Search', exact: true }).click();
  await reader.locator('#search-results li', { hasText: 'Hola, ¿cómo estás?' }).waitFor();
});

test('the reader downloads the room transcript: WebVTT captions in Spanish over the English originals', async () => {
  await reader.locator('#transcript-format').selectOption('vtt');
  const [download] = await Promise.all([
    reader.waitForEvent('download'),
    reader.getByRole('button', { name: 'Download', exact: true }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^room-\d+-transcript-es\.vtt$/);
  const vtt = readFileSync(await download.path(), 'utf8');
  assert.ok(vtt.startsWith('WEBVTT\n'), vtt.slice(0, 100));
  const spanish = await translate('Good morning, my friends.', 'en', 'es');
  assert.ok(vtt.includes(`<lang es>${spanish}</lang>\n<i><lang en>Good morning, my friends.</lang></i>`), vtt);
  assert.ok(vtt.includes('<lang es>Hola, ¿cómo estás? Yo estoy muy bien.</lang>'), vtt);
});

test('history pages back with the same messages after a reload', async () => {
  const live = await messageTexts(reader);
  await reader.reload();
  await reader.locator('#room-title', { hasText: 'Team sync' }).waitFor();
  await reader.locator('#messages article.message').nth(live.length - 1).waitFor();
  assert.deepEqual(await messageTexts(reader), live);
});

test('a line read in the wrong language: the reader marks it Spanish, and both sides see the correction', async () => {
  // Too short for detection: it takes the sender's language (English) and is mistranslated.
  const line = 'Sí, claro';
  await speaker.locator('#message-input').fill(line);
  await speaker.keyboard.press('Enter');
  const typed = speaker.locator('#messages article.message', { hasText: line });
  await typed.waitFor();
  const id = await typed.getAttribute('data-id');
  const sent = speaker.locator(`#messages article.message[data-id="${id}"]`);
  const received = reader.locator(`#messages article.message[data-id="${id}"]`);
  await received.waitFor();
  await received.getByRole('button', { name: 'Wrong language?' }).click();
  await received.locator('select[name="language"]').selectOption('es');
  await received.getByRole('button', { name: 'Fix', exact: true }).click();
  await received.locator('.corrected', { hasText: 'Spanish, as corrected by sofia' }).waitFor();
  await received.locator('p.text', { hasText: line }).waitFor();  // Spanish is her language: the original
  await reader.screenshot({ path: join(shots, '13-room-language-corrected.png'), fullPage: true });
  await sent.locator('.corrected', { hasText: 'corrected by sofia' }).waitFor();
  // The speaker reads it in English now, translated from Spanish.
  const english = await translate(line, 'es', 'en');
  await sent.locator('p.text', { hasText: english }).waitFor();
});

test('the reader chooses to hear the room in a neutral voice: the next message is played, labelled synthetic', async () => {
  await reader.locator('#hear-as').selectOption('neutral');
  await speaker.locator('#message-input').fill('The train leaves at nine.');
  await speaker.keyboard.press('Enter');
  await reader.locator('#voice-status', { hasText: "Playing ellen's message in a synthetic voice" }).waitFor();
  // The choice is the membership's: a reload keeps it.
  await reader.reload();
  await reader.locator('#room-title', { hasText: 'Team sync' }).waitFor();
  await reader.locator('#hear-as').evaluate((select) => new Promise((resolve) => {
    const check = () => (select.value === 'neutral' ? resolve() : setTimeout(check, 50));
    check();
  }));
  await reader.locator('#hear-as').selectOption('captions');
});

test('the owner renames the room (everyone sees it), then bans the reader, who is taken out at once', async () => {
  await speaker.locator('#rename-room').fill('Team sync (en/es)');
  await speaker.getByRole('button', { name: 'Rename' }).click();
  await reader.locator('#room-title', { hasText: 'Team sync (en/es)' }).waitFor();

  // The banned reader's page asks whether it is still a member (403: no), and the invite link
  // is refused (403): both are expected failed requests.
  reader.expectErrors(/status of 403/);
  const member = speaker.locator('#members li', { hasText: 'sofia' });
  await member.getByRole('button', { name: 'Ban: sofia' }).click();
  await speaker.getByRole('dialog').getByRole('button', { name: 'Ban' }).click();
  await speaker.locator('#manage', { hasText: 'Banned' }).waitFor();
  await reader.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await reader.locator('#notice', { hasText: 'no longer in that room' }).waitFor();
  // The invite link no longer lets a banned user in.
  await reader.goto(inviteLink);
  await reader.locator('[role="alert"]', { hasText: /not valid|not allowed/ }).waitFor();
  reader.allowed.length = 0;
  await speaker.screenshot({ path: join(shots, '05-room-owner-controls.png'), fullPage: true });
});

test('settings: a new username shows at once and signs in; the plan page says payments are off', async () => {
  await speaker.goto(`${parley.base}/#/settings`);
  await speaker.getByRole('heading', { name: 'Account settings' }).waitFor();
  await speaker.locator('#settings-username').fill('ellen.w');
  await speaker.locator('#settings-spoken').selectOption(['en', 'es']);
  await speaker.getByRole('button', { name: 'Save' }).click();
  await speaker.locator('#nav', { hasText: 'Signed in as ellen.w' }).waitFor();
  // The page keeps the profile /api/me answered after the save.
  const me = await speaker.evaluate(() => JSON.parse(localStorage.getItem('parley.session')).user);
  assert.deepEqual(me.spoken_languages, ['en', 'es']);
  await speaker.screenshot({ path: join(shots, '06-settings.png'), fullPage: true });
  await speaker.goto(`${parley.base}/#/plan`);
  await speaker.locator('main', { hasText: 'Payments are not set up' }).waitFor();
  // Signing out and in again, by username this time.
  await speaker.getByRole('button', { name: 'Sign out' }).click();
  await speaker.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await speaker.locator('#login-email').fill('ellen.w');
  await speaker.locator('#login-password').fill(PASSWORD);
  await speaker.getByRole('button', { name: 'Sign in' }).last().click();
  await speaker.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await speaker.locator('#my-rooms', { hasText: 'Team sync (en/es)' }).waitFor();
});

test('the interface speaks Simplified Chinese for a Chinese browser, and fits a phone', async () => {
  const phone = await openPage(browser, { locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  await phone.goto(parley.base);
  await phone.getByRole('heading', { name: '欢迎使用 Parley' }).waitFor();
  assert.equal(await phone.evaluate(() => document.documentElement.lang), 'zh-Hans');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await phone.screenshot({ path: join(shots, '07-welcome-zh-phone.png'), fullPage: true });
  // The switch changes it back, and remembers.
  await phone.locator('#locale').selectOption('en');
  await phone.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await phone.getByRole('button', { name: 'Continue as guest' }).click();
  await phone.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await phone.screenshot({ path: join(shots, '08-rooms-phone.png'), fullPage: true });
  assert.deepEqual(phone.problems, []);
  await phone.context().close();
});

test('no console errors in any page', () => {
  assert.deepEqual(speaker.problems, []);
  assert.deepEqual(reader.problems, []);
});
