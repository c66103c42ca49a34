// The web client hosted on another origin (FRONTEND_URL), talking to the server through CORS and
// Socket.IO: two guests meet in a public room found by search. A host that FRONTEND_URL does not
// name gets a plain-words error, not a half-working page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize } from 'node:path';
import { startParley } from '../realtime/harness.mjs';
import { artifactsDir, buildClient, launchBrowser, openPage } from './browser.mjs';

let parley;
let web;
let browser;
let frontend; // the allowed static host
let stranger; // a static host FRONTEND_URL does not name

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** A static host for the built client whose page names the Parley server (the meta tag). */
function staticHost(folder, serverUrl) {
  const server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(folder, path === '/' ? 'index.html' : path);
    try {
      let body = readFileSync(file);
      if (file.endsWith('index.html')) {
        body = body.toString().replace('<meta name="parley-server" content="">', `<meta name="parley-server" content="${serverUrl()}">`);
      }
      res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, origin: `http://127.0.0.1:${server.address().port}` });
  }));
}

before(async () => {
  web = buildClient();
  frontend = await staticHost(web, () => parley.base);
  stranger = await staticHost(web, () => parley.base);
  parley = await startParley({ FRONTEND_URL: frontend.origin, PARLEY_WEB_DIR: '/nonexistent' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  frontend?.server.close();
  stranger?.server.close();
  if (parley) assert.equal(await parley.stop(), 0);
  if (web) rmSync(web, { recursive: true, force: true });
});

test('two guests meet in a public room from a page on another origin', async () => {
  const ana = await openPage(browser);
  const ben = await openPage(browser);
  await ana.goto(frontend.origin);
  await ana.getByRole('button', { name: 'Continue as guest' }).click();
  await ana.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await ana.locator('#room-name').fill('Open lobby');
  await ana.getByRole('button', { name: 'Create room' }).click();
  await ana.locator('#room-title', { hasText: 'Open lobby' }).waitFor();

  await ben.goto(frontend.origin);
  await ben.getByRole('button', { name: 'Continue as guest' }).click();
  await ben.locator('#room-search').fill('lobby');
  await ben.locator('#public-rooms a', { hasText: 'Open lobby' }).click();
  await ben.getByRole('button', { name: 'Join room' }).click();
  await ben.locator('#room-title', { hasText: 'Open lobby' }).waitFor();

  await ben.locator('#message-input').fill('Hello from another origin');
  await ben.keyboard.press('Enter');
  try {
    await ana.locator('#messages article.message', { hasText: 'Hello from another origin' }).waitFor();
  } catch (error) {
    console.log('ANA', await ana.locator('main').innerText(), ana.problems, 'BEN', await ben.locator('main').innerText(), ben.problems);
    console.log('BEN input:', JSON.stringify(await ben.locator('#message-input').inputValue()));
    console.log('BEN traffic:\n' + ben.traffic.join('\n'));
    console.log('ANA traffic:\n' + ana.traffic.join('\n'));
    throw error;
  }
  assert.equal(await ana.locator('#connection').getAttribute('data-state'), 'connected');
  await ana.screenshot({ path: join(artifactsDir(), '10-cross-origin-room.png'), fullPage: true });
  assert.deepEqual(ana.problems, []);
  assert.deepEqual(ben.problems, []);
});

// The room view used to move the focus to its heading once the history had loaded: a reader who
// had started typing by then lost the focus, and Enter went nowhere.
test('typing while the history still loads keeps the focus, and Enter sends', async () => {
  const page = await openPage(browser);
  await page.goto(frontend.origin);
  await page.getByRole('button', { name: 'Continue as guest' }).click();
  await page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  let releaseHistory;
  const historyHeld = new Promise((resolve) => { releaseHistory = resolve; });
  await page.route('**/api/get-chatroom-messages', async (route) => {
    await historyHeld;
    await route.continue();
  });
  await page.locator('#room-name').fill('Slow history');
  await page.getByRole('button', { name: 'Create room' }).click();
  await page.locator('#room-title', { hasText: 'Slow history' }).waitFor();
  await page.locator('#message-input').fill('Typed before the history came');
  const loaded = page.waitForResponse((response) => response.url().includes('/api/get-chatroom-messages') && response.request().method() === 'POST');
  releaseHistory();
  await loaded;
  await page.locator('#load-older', { hasText: 'beginning' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'message-input');
  await page.keyboard.press('Enter');
  await page.locator('#messages article.message', { hasText: 'Typed before the history came' }).waitFor();
  assert.deepEqual(page.problems, []);
});

test('a page on an origin FRONTEND_URL does not name says the server cannot be reached', async () => {
  const page = await openPage(browser);
  page.expectErrors(/CORS|Failed to load resource|ERR_FAILED/);
  await page.goto(stranger.origin);
  await page.locator('#notice', { hasText: 'cannot be reached' }).waitFor();
  assert.deepEqual(page.problems, []);
});
