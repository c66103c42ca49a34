// Plays the browser in an authorization-code login, without a browser: follows redirects with a
// cookie jar and submits the provider's login and consent forms (see provider.mjs).
//
// Usage: node tests/e2e/oidc/drive-login.mjs <authorization-url> [--redirect-uri URI] [--deny]
// Prints the final redirect to the client (redirect_uri?code=...&state=... or, with --deny,
// redirect_uri?error=access_denied&state=...) on stdout and exits 0; exits 1 on anything else.
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'redirect-uri': { type: 'string' },
    deny: { type: 'boolean', default: false },
    'max-steps': { type: 'string', default: '20' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: drive-login.mjs <authorization-url> [--redirect-uri URI] [--deny]');
  process.exit(2);
}
const start = new URL(positionals[0]);
const redirectUri = args['redirect-uri'] ?? start.searchParams.get('redirect_uri');
if (!redirectUri) {
  console.error('no redirect_uri given or in the authorization URL');
  process.exit(2);
}

/** A minimal RFC 6265 jar for one host: name -> {value, path}. */
const jar = new Map();
function storeCookies(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key, val = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path') path = val;
      if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
      if (key.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) expired = true;
    }
    const key = `${name};${path}`;
    if (expired) jar.delete(key);
    else jar.set(key, { name, value, path });
  }
}
function cookieHeader(url) {
  return [...jar.values()]
    .filter(({ path }) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`) || path === '/')
    .map(({ name, value }) => `${name}=${value}`)
    .join('; ');
}

const isClientRedirect = (location) => location.startsWith(redirectUri);

/** The forms of a page: id, action, hidden/text inputs. Enough for provider.mjs's pages. */
function parseForms(html) {
  const forms = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attribute = (text, name) => (text.match(new RegExp(`\\b${name}="([^"]*)"`, 'i')) ?? [])[1];
    const fields = {};
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1], 'name');
      if (name) fields[name] = attribute(input[1], 'value') ?? '';
    }
    forms.push({ id: attribute(match[1], 'id'), action: attribute(match[1], 'action'), fields });
  }
  return forms;
}

let url = start;
let init = { method: 'GET' };
for (let step = 0; step < Number(args['max-steps']); ++step) {
  const headers = { ...(init.headers ?? {}) };
  const cookies = cookieHeader(url);
  if (cookies) headers.cookie = cookies;
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  storeCookies(response);

  if (response.status >= 300 && response.status < 400) {
    const location = new URL(response.headers.get('location'), url).href;
    if (isClientRedirect(location)) {
      console.log(location);
      process.exit(0);
    }
    url = new URL(location);
    init = { method: 'GET' };
    continue;
  }
  const body = await response.text();
  if (response.status !== 200 || !/text\/html/.test(response.headers.get('content-type') ?? '')) {
    console.error(`unexpected ${response.status} from ${url.pathname}: ${body.slice(0, 500)}`);
    process.exit(1);
  }
  const forms = parseForms(body);
  const chosen = args.deny ? forms.find((f) => f.id === 'deny') : forms.find((f) => f.id !== 'deny');
  if (!chosen) {
    console.error(`no form to submit on ${url.pathname}`);
    process.exit(1);
  }
  url = new URL(chosen.action, url);
  init = {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(chosen.fields).toString(),
  };
}
console.error('too many steps without reaching the redirect_uri');
process.exit(1);
