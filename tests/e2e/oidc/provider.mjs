// A real OpenID provider (panva/oidc-provider) on 127.0.0.1 for Parley's OIDC integration tests.
//
// Usage: node tests/e2e/oidc/provider.mjs [--port N] [--client-id ID] [--client-secret S]
//                                         [--redirect-uri URI]
// (or OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI in the environment).
// When ready it prints one JSON line on stdout: {"issuer":"http://127.0.0.1:PORT", ...}.
//
// One confidential client (client_secret_basic or _post), PKCE required, one test user. The
// login and consent pages are tiny HTML forms (see drive-login.mjs); each page also has a
// "deny" form that ends the flow with error=access_denied, to simulate a refused consent.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    'client-id': { type: 'string', default: process.env.OIDC_CLIENT_ID ?? 'parley-test' },
    'client-secret': {
      type: 'string',
      default: process.env.OIDC_CLIENT_SECRET ?? 'parley-test-secret-0123456789abcdef',
    },
    'redirect-uri': {
      type: 'string',
      default: process.env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1:8000/auth/google/callback',
    },
  },
});

const TEST_USER = {
  sub: 'test-user-1',
  email: 'ana@example.test',
  email_verified: true,
  name: 'Ana Test',
  picture: 'https://example.test/ana.png',
};

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// A fresh signing key per run: tests must fetch it from jwks_uri like they would Google's.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      redirect_uris: [args['redirect-uri']],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { methods: ['S256'], required: () => true },
  // Put the scope's claims (email, name...) in the id_token, as Google does, instead of only in
  // the userinfo response.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  scopes: ['openid', 'email', 'profile'],
  findAccount: async (ctx, sub) =>
    sub === TEST_USER.sub ? { accountId: sub, claims: async () => ({ ...TEST_USER }) } : undefined,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Interaction: 600, Session: 600, Grant: 600 },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

const page = (title, forms) =>
  `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${forms}</body></html>`;
const form = (id, action, fields, label) =>
  `<form id="${id}" method="post" action="${action}">` +
  Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('') +
  `<button type="submit">${label}</button></form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function interaction(req, res) {
  const url = new URL(req.url, issuer);
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const base = `/interaction/${uid}`;
  const deny = form('deny', `${base}/abort`, {}, 'Deny');

  if (req.method === 'GET' && action === undefined) {
    const html =
      details.prompt.name === 'login'
        ? page('Sign in', form('login', `${base}/login`, { login: TEST_USER.sub }, 'Sign in') + deny)
        : page('Consent', form('consent', `${base}/confirm`, {}, 'Allow') + deny);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  if (action === 'login') {
    const { login } = await readForm(req);
    if (login !== TEST_USER.sub) {
      res.writeHead(403).end('unknown user');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } else if (action === 'confirm') {
    const { prompt: { details: missing }, params, session: { accountId } } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  } else if (action === 'abort') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
  } else {
    res.writeHead(404).end();
  }
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      console.error('interaction failed', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
    return;
  }
  callback(req, res);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(JSON.stringify({
  issuer,
  discovery_url: `${issuer}/.well-known/openid-configuration`,
  client_id: args['client-id'],
  redirect_uri: args['redirect-uri'],
}));
