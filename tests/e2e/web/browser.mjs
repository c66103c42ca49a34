// Shared set-up of the web client's browser tests: the client built from web/ into a throw-away
// folder, Debian's Chromium driven by playwright-core, console watching and screenshots.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repository = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Builds the web client of this checkout (web/build.mjs) into a new folder; returns it. */
export function buildClient() {
  const out = mkdtempSync(join(tmpdir(), 'parley-web-'));
  execFileSync(process.execPath, [join(repository, 'web', 'build.mjs'), '--out', out], { stdio: ['ignore', 'pipe', 'inherit'] });
  return out;
}

/** Where screenshots go: PARLEY_ARTIFACTS_DIR (ctest sets build/<preset>/test-artifacts/web). */
export function artifactsDir() {
  const dir = process.env.PARLEY_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts', 'web');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Headless Chromium with the flags of ../shared/README.md. `fakeAudio`: a 48 kHz mono WAV that
 * the fake microphone plays (in a loop); permission prompts are accepted.
 */
export async function launchBrowser({ fakeAudio } = {}) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (fakeAudio) {
    args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeAudio}`, '--autoplay-policy=no-user-gesture-required');
  }
  return chromium.launch({ executablePath: process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
}

/**
 * A page in a new context that records every console error and uncaught exception in
 * `page.problems`. Errors the test provokes on purpose are allowed with `page.expectErrors(re)`.
 */
export async function openPage(browser, { locale = 'en-US', viewport } = {}) {
  const context = await browser.newContext({ locale, viewport: viewport ?? { width: 1200, height: 850 } });
  const page = await context.newPage();
  page.problems = [];
  page.allowed = [];
  page.expectErrors = (pattern) => page.allowed.push(pattern);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (!page.allowed.some((pattern) => pattern.test(text))) page.problems.push(`console: ${text}`);
  });
  page.on('pageerror', (error) => page.problems.push(`exception: ${error.message}`));
  // The Socket.IO traffic, for a failing test to print: WebSocket frames and polling bodies.
  page.traffic = [];
  const note = (entry) => { page.traffic.push(`${(performance.now() / 1000).toFixed(3)} ${entry}`); };
  page.on('websocket', (ws) => {
    note(`ws open ${ws.url()}`);
    ws.on('framesent', (frame) => note(`ws > ${String(frame.payload).slice(0, 300)}`));
    ws.on('framereceived', (frame) => note(`ws < ${String(frame.payload).slice(0, 300)}`));
    ws.on('close', () => note('ws closed'));
    ws.on('socketerror', (error) => note(`ws error ${error}`));
  });
  page.on('requestfinished', async (request) => {
    if (!request.url().includes('/socket.io/')) return;
    const response = await request.response().catch(() => null);
    const body = await response?.text().catch(() => '?');
    note(`${request.method()} ${request.url().replace(/^.*\?/, '?')} ${String(request.postData() ?? '').slice(0, 300)} -> ${response?.status()} ${String(body ?? '').slice(0, 300)}`);
  });
  page.on('requestfailed', (request) => {
    if (request.url().includes('/socket.io/')) note(`${request.method()} ${request.url().replace(/^.*\?/, '?')} failed ${request.failure()?.errorText}`);
  });
  return page;
}

/** The visible text of the messages list as an array (one string per message). */
export async function messageTexts(page) {
  return page.locator('#messages article.message .text:not(.original)').allInnerTexts();
}
