// The plan page in a real browser against the local Stripe fake: subscribe monthly through the
// Checkout page, come back to /payment/success, see the plan active, cancel at period end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../realtime/harness.mjs';
import { startFake } from '../fake_services.mjs';
import { artifactsDir, buildClient, launchBrowser, openPage } from './browser.mjs';

const SECRET = 'whsec_parleyWebSecret0123456789abcdef';

let stripe;
let parley;
let web;
let browser;

/** A port free now: FRONTEND_URL must name the server's own address before it starts. */
function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  web = buildClient();
  stripe = await startFake('tests/fakes/stripe.mjs');
  const port = await freePort();
  parley = await startParley({
    PARLEY_PORT: String(port),
    PARLEY_WEB_DIR: web,
    FRONTEND_URL: `http://127.0.0.1:${port}`,
    STRIPE_SECRET_KEY: 'sk_test_parley',
    STRIPE_PUBLISHABLE_KEY: 'pk_test_parley',
    STRIPE_API_BASE: stripe.base,
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_PRICE_MONTHLY: 'price_monthly',
    STRIPE_PRICE_YEARLY: 'price_yearly',
  });
  await fetch(`${stripe.base}/__webhook`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: `${parley.base}/api/stripe/webhook`, secret: SECRET }),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (parley) assert.equal(await parley.stop(), 0);
  stripe?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

test('subscribe through Stripe Checkout, return, see the plan, cancel at period end', async () => {
  const page = await openPage(browser);
  await page.goto(parley.base);
  await page.locator('#signup-email').fill('payer@example.test');
  await page.locator('#signup-username').fill('payer');
  await page.locator('#signup-password').fill('a long browser passphrase');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Plan' }).click();
  await page.locator('#plan-status', { hasText: 'Current plan: Free' }).waitFor();
  await page.screenshot({ path: join(artifactsDir(), '11-plan-free.png'), fullPage: true });

  // The fake's checkout page is not ours: Chromium asks it for /favicon.ico, which it lacks.
  page.expectErrors(/status of 404/);
  await page.locator('#subscribe-monthly').click();
  await page.waitForURL(`${stripe.base}/c/pay/**`);
  await page.locator('#pay').click();
  // Stripe sends the browser to FRONTEND_URL/payment/success?session_id=…, which leads to the plan.
  await page.waitForURL(/#\/plan$/);
  await page.locator('#plan-status', { hasText: 'Current plan: Monthly' }).waitFor();
  await page.locator('#notice', { hasText: 'Thank you' }).waitFor();
  page.allowed.length = 0;
  await page.screenshot({ path: join(artifactsDir(), '12-plan-monthly.png'), fullPage: true });

  await page.locator('#cancel-subscription').click();
  await page.locator('#plan-status', { hasText: 'it will not renew' }).waitFor();
  assert.deepEqual(page.problems, []);
});
