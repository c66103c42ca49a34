// A local fake of the Stripe API, version 2023-08-16, written from ../shared/apis/stripe/:
// request parameters from openapi-2023-08-16.subset.json (SPEC at the end of this file, extracted
// by the script quoted there), object shapes from fixtures/2023-08-16.json, webhook signing from
// WEBHOOK-SIGNATURE.md. Node built-ins only. What the tests check is what Parley sends to Stripe,
// how it handles Stripe's replies, and how it handles the webhooks Stripe sends.
//
// Usage: node tests/fakes/stripe.mjs [--port N]   (prints "listening <port>" first)
// Env: FAKE_STRIPE_KEY     the secret key (default "sk_test_parley"): `Authorization: Bearer
//                          <key>` (or HTTP Basic with the key as user name, as Stripe allows).
//      FAKE_STRIPE_PRICES  the prices the account has, "id:interval[:unit_amount[:currency]],..."
//                          (default "price_monthly:month,price_yearly:year"; amounts default to
//                          2000 a month, 20000 a year, in usd).
//
// The API (Stripe's conventions):
//   POST   /v1/customers                      GET /v1/customers/{customer}
//   POST   /v1/checkout/sessions              GET /v1/checkout/sessions/{session}
//   GET    /v1/subscriptions                  GET /v1/subscriptions/{id}
//   POST   /v1/subscriptions/{id}             DELETE /v1/subscriptions/{id}
//   POST   /v1/billing_portal/sessions
//   GET    /v1/prices                         GET /v1/prices/{price} (not in the subset; Stripe's)
// - Parameters are application/x-www-form-urlencoded (query string for GET) with Stripe's nested
//   keys (`metadata[user_id]`, `line_items[0][price]`, `expand[]`), checked against the spec:
//   unknown → 400 parameter_unknown, missing required → 400 parameter_missing, an empty string
//   where the parameter cannot be unset → 400 parameter_invalid_empty, bad integer → 400
//   parameter_invalid_integer, bad boolean/enum/length → 400 with `param`. A parameter the spec
//   allows but this fake does not implement → 400 with code `fake_unsupported_parameter` (loud, so
//   a test never passes because a parameter was silently ignored).
// - Errors are Stripe's `{"error": {code?, doc_url?, message, param?, request_log_url?, type}}`.
//   Missing or wrong key → 401 (the wrong key is shown masked, as Stripe does).
// - Every response has `Request-Id` and `Stripe-Version: 2023-08-16`. A request's Stripe-Version
//   other than 2023-08-16 is refused with 400 (this fake renders no other version).
// - Idempotency-Key (POST): the first execution's status and body are saved for 24 h (fake
//   clock); the same key with the same parameters replays them with `Idempotent-Replayed: true`;
//   with other parameters or another endpoint → 400 idempotency_error; while the first is still
//   executing → 409 idempotency_error. As at Stripe, nothing is saved when the request failed
//   before the endpoint ran (authentication, validation, scripted replies).
// - Events of API changes (customer.subscription.updated/deleted) are delivered after the reply.
//
// Control API (no auth; JSON in and out; errors are {"error": "..."} with 400 or 404):
//   GET  /__requests   recorded API requests: [{received_at (ms since the epoch), method, path,
//                      query (raw), headers (lower-case names), body (raw), fields ([[name,
//                      value]...] decoded, in order), params (nested, as Stripe reads them)}]
//   POST /__script     {"responses": [{"status", "headers", "body", "delay_ms", "drop"}...]}:
//                      consumed in order by the next API requests that pass authentication and
//                      validation. `status` replies instead of the endpoint (default body:
//                      Stripe's api_error, or its rate_limit error for 429; never saved for
//                      idempotency); `drop: true` closes the connection without a reply; an
//                      entry with only delay_ms delays the normal answer (an Idempotency-Key is
//                      held meanwhile, and the request completes even if the client gave up).
//   POST /__reset      forgets requests, script, objects, events, idempotency keys, the webhook
//                      and the clock.
//   POST /__webhook    {"url": "http://127.0.0.1:N/api/stripe/webhook", "secret": "whsec_..." |
//                      ["whsec_old", "whsec_new"] (one v1 per secret, as during a rotation),
//                      "timestamp_offset_s": 0 (added to the signature's t: e.g. -400 for a stale
//                      one)}; {"url": null} stops deliveries. Reply {"ok": true}.
//   POST /__clock      {"now": <unix seconds>} fixes the fake's clock (object and event times;
//                      signatures use the real time); {"now": null} returns to real time.
//                      Reply {"now", "fixed"}.
//   POST /__checkout/complete   {"session": "cs_...", "order": [event types]?}: the customer
//                      paid. Creates the subscription (active; period from now to +1 interval of
//                      the price), its paid first invoice, marks the session complete/paid and
//                      delivers checkout.session.completed, customer.subscription.created,
//                      invoice.paid in that order, or in `order`'s (each entry delivers the next
//                      undelivered event of that type; unlisted events are created but not
//                      delivered: resend them later). Reply {"session", "subscription",
//                      "invoice", "events": [{"id", "type", "status", "error"}]}, after the
//                      deliveries.
//   POST /__subscriptions/{id}/advance  {"to": "period_end" | "retry", "fail_payment": bool,
//                      "order": [...]}: time passes.
//                      period_end: the clock moves to the period's end; a subscription with
//                        cancel_at_period_end becomes canceled (customer.subscription.deleted);
//                        otherwise it renews: new period, new invoice, and either
//                        customer.subscription.updated + invoice.paid, or (fail_payment)
//                        customer.subscription.updated + invoice.payment_failed +
//                        customer.subscription.updated (status past_due).
//                      retry: a past_due subscription's open invoice is charged again: paid →
//                        invoice.paid + customer.subscription.updated (active); fail_payment →
//                        invoice.payment_failed (attempt_count + 1).
//                      Reply {"subscription", "invoice", "events"} after the deliveries.
//   POST /__events/{id}/resend   delivers an event again (same id and body, fresh t and
//                      signature). Reply {"id", "type", "status", "error"}.
//   GET  /__events     [{"id", "type", "created", "object_id", "delivered" (a 2xx was
//                      received), "status" (of the last delivery, null if none or no reply),
//                      "deliveries": [{"at" (ms), "url", "status", "error", "signature",
//                      "response"}], "event"}] in creation order. `?settle=1` first waits (up to
//                      10 s) for deliveries in flight.
// Pages for a browser: GET /c/pay/{session} (the checkout page; POST it to pay: completes the
// session like /__checkout/complete, then redirects 303 to success_url), GET /p/session/{token}
// (the portal: a link back to return_url).
//
// Webhook deliveries are signed exactly as WEBHOOK-SIGNATURE.md says: the event is serialised
// once (2-space indented JSON, as Stripe sends it), `Stripe-Signature: t=<unix s>,v1=<hex
// HMAC-SHA256(secret, t + "." + body)>`, POSTed with Content-Type application/json; one at a time
// in creation order, 10 s timeout, no automatic retries (use resend).
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const API_VERSION = '2023-08-16';
const API_KEY = process.env.FAKE_STRIPE_KEY ?? 'sk_test_parley';
const MAX_BODY = 1024 * 1024;
const IDEMPOTENCY_TTL_S = 24 * 3600;
const DELIVERY_TIMEOUT_MS = 10_000;
const PRODUCT_NAME = 'Parley';
const CHECKOUT_TYPES = ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'];

// ---------------------------------------------------------------------------------------------
// Webhook signatures (exported for the self-test and for Node-side tests that play Stripe).

/** Lower-case hex HMAC-SHA256 of `${timestamp}.${payload}` keyed by the secret's UTF-8 bytes. */
export function signPayload(secret, timestamp, payload) {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
}

/** `t=<timestamp>,v1=<sig>[,v1=<sig>...]`, one v1 per secret in order. */
export function signatureHeader(secrets, timestamp, payload) {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  return [`t=${timestamp}`, ...list.map((s) => `v1=${signPayload(s, timestamp, payload)}`)].join(',');
}

// ---------------------------------------------------------------------------------------------
// Stripe's form encoding: `a[b][0][c]=v` pairs (Rack's nested parameters) → nested objects.

/** Decoded [name, value] pairs of a form body or query string, in order; throws on bad %XX. */
export function parsePairs(text) {
  const decode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  const pairs = [];
  for (const part of (text ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))]);
  }
  return pairs;
}

class FormError extends Error {
  constructor(message, param) { super(message); this.param = param; }
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Nests pairs as Rack (and so Stripe) does: `a[b]` is a hash key, `a[0]` a hash key that the
 * spec later reads as an array index, `a[]` appends to an array (`a[][k]` starts a new element
 * when the last one already has `k`). A repeated plain name keeps the last value.
 */
export function nestPairs(pairs) {
  const root = {};
  for (const [name, value] of pairs) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name);
    const keys = m ? [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])] : [name];
    insert(root, keys, value, keys[0]);
  }
  return root;
}

function insert(container, keys, value, shown) {
  const [key, ...rest] = keys;
  if (key === '') throw new FormError(`Invalid array: ${shown}`, shown);
  if (rest.length === 0) {
    if (isPlainObject(container[key]) || Array.isArray(container[key])) {
      throw new FormError(`Invalid hash: ${shown} is given both as a value and as a hash`, shown);
    }
    container[key] = value;
    return;
  }
  const [next, ...after] = rest;
  if (next === '') {  // key[] ...
    const path = `${shown}[]`;
    if (container[key] === undefined) container[key] = [];
    const array = container[key];
    if (!Array.isArray(array)) throw new FormError(`Invalid array: ${path}`, shown);
    if (after.length === 0) { array.push(value); return; }
    const last = array[array.length - 1];
    if (isPlainObject(last) && !hasPath(last, after)) insert(last, after, value, path);
    else { const fresh = {}; array.push(fresh); insert(fresh, after, value, path); }
    return;
  }
  if (container[key] === undefined) container[key] = {};
  if (!isPlainObject(container[key])) {
    throw new FormError(`Invalid hash: ${shown} is given both as a value and as a hash`, shown);
  }
  insert(container[key], rest, value, `${shown}[${next}]`);
}

function hasPath(object, keys) {
  let at = object;
  for (const k of keys) {
    if (k === '' || !isPlainObject(at) || !(k in at)) return false;
    at = at[k];
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Errors

class ApiError extends Error {
  constructor(status, type, message, { code, param, headers, logUrl = true } = {}) {
    super(message);
    Object.assign(this, { status, type, code, param, headers, logUrl });
  }
}

const invalid = (message, options = {}) => new ApiError(400, 'invalid_request_error', message, options);

function errorBody(e, requestId) {
  const error = {};
  if (e.code) {
    error.code = e.code;
    if (!e.code.startsWith('fake_')) error.doc_url = `https://stripe.com/docs/error-codes/${e.code.replace(/_/g, '-')}`;
  }
  error.message = e.message;
  if (e.param) error.param = e.param;
  if (e.logUrl !== false && requestId) {
    error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}?t=${now()}`;
  }
  error.type = e.type;
  return { error };
}

const missing = (kind, id, param = 'id', status = 404) =>
  new ApiError(status, 'invalid_request_error', `No such ${kind}: '${id}'`, { code: 'resource_missing', param });

// ---------------------------------------------------------------------------------------------
// Parameters against the spec

const METADATA_MAX_KEYS = 50;
const METADATA_MAX_KEY = 40;
const METADATA_MAX_VALUE = 500;

function kindOf(value) {
  return Array.isArray(value) ? 'array' : isPlainObject(value) ? 'object' : 'string';
}

function fitsKind(schema, kind) {
  if (schema.anyOf) return schema.anyOf.some((s) => fitsKind(s, kind));
  if (schema.type === 'object') return kind === 'object';
  if (schema.type === 'array') return kind === 'array' || kind === 'object';
  return kind === 'string';
}

/** The value as the schema reads it (numbers, booleans, arrays); throws ApiError 400. */
export function validateValue(schema, value, param) {
  if (schema.anyOf) {
    if (value === '' && schema.anyOf.some((s) => s.enum?.includes(''))) return '';
    const kind = kindOf(value);
    const candidates = schema.anyOf.filter((s) => fitsKind(s, kind) && !(s.enum && s.enum.length === 1 && s.enum[0] === ''));
    if (candidates.length === 0) {
      throw invalid(`Invalid ${kind === 'string' ? 'hash' : 'value'}: ${param}`, { param });
    }
    let first;
    for (const alternative of candidates) {
      try { return validateValue(alternative, value, param); } catch (e) { first ??= e; }
    }
    throw first;
  }
  switch (schema.type) {
    case 'object': return validateObject(schema, value, param);
    case 'array': {
      let items;
      if (Array.isArray(value)) items = value;
      else if (isPlainObject(value)) {
        const keys = Object.keys(value);
        if (!keys.every((k) => /^\d+$/.test(k))) {
          const bad = keys.find((k) => !/^\d+$/.test(k));
          throw invalid(`Invalid array: ${param}[${bad}] is not an array index`, { param });
        }
        items = keys.map(Number).sort((a, b) => a - b).map((k) => value[k]);
      } else if (value === '') {
        throw new ApiError(400, 'invalid_request_error', emptyMessage(param), { code: 'parameter_invalid_empty', param });
      } else throw invalid(`Invalid array: ${param}`, { param });
      return items.map((item, i) => validateValue(schema.items ?? {}, item, `${param}[${i}]`));
    }
    default: {
      if (typeof value !== 'string') {
        throw invalid(`Invalid ${schema.type ?? 'value'}: ${param} must be a ${schema.type ?? 'string'}, not a ${kindOf(value)}`, { param });
      }
      if (value === '' && !(schema.enum?.includes(''))) {
        throw new ApiError(400, 'invalid_request_error', emptyMessage(param), { code: 'parameter_invalid_empty', param });
      }
      if (schema.type === 'integer') {
        if (!/^-?\d+$/.test(value)) throw invalid(`Invalid integer: ${value}`, { code: 'parameter_invalid_integer', param });
        return Number(value);
      }
      if (schema.type === 'number') {
        if (!/^-?\d+(\.\d+)?$/.test(value)) throw invalid(`Invalid decimal: ${value}`, { param });
        return Number(value);
      }
      if (schema.type === 'boolean') {
        if (value !== 'true' && value !== 'false') throw invalid(`Invalid boolean: ${value}`, { param });
        return value === 'true';
      }
      if (schema.enum && !schema.enum.includes(value)) {
        const options = schema.enum.filter((x) => x !== '');
        const list = options.length > 1 ? `${options.slice(0, -1).join(', ')}, or ${options.at(-1)}` : options[0];
        throw invalid(`Invalid ${param}: must be one of ${list}`, { param });
      }
      if (schema.format === 'decimal' && !/^-?\d+(\.\d+)?$/.test(value)) throw invalid(`Invalid decimal: ${value}`, { param });
      if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
        throw invalid(`Invalid string: ${value.slice(0, 20)}...; must be at most ${schema.maxLength} characters`, { param });
      }
      return value;
    }
  }
}

function emptyMessage(param) {
  return `You passed an empty string for '${param}'. We assume empty values are an attempt to ` +
      `unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from ` +
      'your request or supply a non-empty value.';
}

function validateObject(schema, value, param) {
  if (!isPlainObject(value)) {
    if (value === '') throw new ApiError(400, 'invalid_request_error', emptyMessage(param), { code: 'parameter_invalid_empty', param });
    throw invalid(`Invalid hash: ${param}`, { param });
  }
  const properties = schema.properties ?? {};
  const out = {};
  const isMetadata = /(^|\])metadata$|^metadata$|\[metadata\]$/.test(param) && schema.additionalProperties;
  if (isMetadata && Object.keys(value).length > METADATA_MAX_KEYS) {
    throw invalid(`Invalid ${param}: metadata can have at most ${METADATA_MAX_KEYS} keys`, { param });
  }
  for (const [key, v] of Object.entries(value)) {
    const child = `${param}[${key}]`;
    if (key in properties) { out[key] = validateValue(properties[key], v, child); continue; }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      if (isMetadata && [...key].length > METADATA_MAX_KEY) {
        throw invalid(`Metadata keys can have up to ${METADATA_MAX_KEY} characters, but you passed in a key that is ${[...key].length} characters: ${key}`, { param: child });
      }
      if (isMetadata && typeof v === 'string' && [...v].length > METADATA_MAX_VALUE) {
        throw invalid(`Metadata values can have up to ${METADATA_MAX_VALUE} characters, but you passed in a value that is ${[...v].length} characters. Invalid value: ${v.slice(0, 20)}...`, { param: child });
      }
      // Metadata: an empty value unsets the key, so '' is allowed here.
      if (isMetadata && v === '') { out[key] = ''; continue; }
      out[key] = validateValue(schema.additionalProperties, v, child);
      continue;
    }
    throw invalid(`Received unknown parameter: ${child}`, { code: 'parameter_unknown', param: child });
  }
  for (const name of schema.required ?? []) {
    if (!(name in value)) {
      const child = `${param}[${name}]`;
      throw invalid(`Missing required param: ${child}.`, { code: 'parameter_missing', param: child });
    }
  }
  return out;
}

/** Top-level parameters of an operation (names without brackets). */
export function validateParams(schema, params) {
  const out = {};
  for (const [key, v] of Object.entries(params)) {
    if (!(key in schema.properties)) {
      throw invalid(`Received unknown parameter: ${key}`, { code: 'parameter_unknown', param: key });
    }
    out[key] = validateValue(schema.properties[key], v, key);
  }
  for (const name of schema.required ?? []) {
    if (!(name in params)) {
      throw invalid(`Missing required param: ${name}.`, { code: 'parameter_missing', param: name });
    }
  }
  return out;
}

/** Refuses what the spec allows but this fake does not implement (`supported`: true = all). */
function checkSupported(supported, params, param = '') {
  if (supported === true) return;
  const entries = Array.isArray(params) ? params.map((v, i) => [String(i), v]) : Object.entries(params);
  for (const [key, value] of entries) {
    const rule = Array.isArray(params) ? supported['*'] : supported[key];
    const shown = param === '' ? key : `${param}[${key}]`;
    if (rule === undefined) {
      throw invalid(`The Stripe fake does not implement the parameter ${shown} (Stripe accepts it): ` +
          'extend tests/fakes/stripe.mjs', { code: 'fake_unsupported_parameter', param: shown });
    }
    if (rule !== true && (isPlainObject(value) || Array.isArray(value))) checkSupported(rule, value, shown);
  }
}

// ---------------------------------------------------------------------------------------------
// State, clock, ids

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomString(n, alphabet = ALNUM) {
  let out = '';
  for (const byte of crypto.randomBytes(n)) out += alphabet[byte % alphabet.length];
  return out;
}
const newId = (prefix, n = 24) => prefix + randomString(n);

function freshState() {
  return {
    requests: [], queue: [], customers: new Map(), sessions: new Map(), subscriptions: new Map(),
    invoices: new Map(), portalSessions: new Map(), portalTokens: new Map(), internal: new Map(),
    events: [], eventsById: new Map(), idempotency: new Map(), webhook: null,
    clock: { fixed: null, offset: 0 },
  };
}
let state = freshState();
let deliveryChain = Promise.resolve();

const realNow = () => Math.floor(Date.now() / 1000);
const now = () => state.clock.fixed ?? realNow() + state.clock.offset;
function moveClockTo(t) {
  if (t <= now()) return;
  if (state.clock.fixed !== null) state.clock.fixed = t;
  else state.clock.offset = t - realNow();
}

const STARTED = realNow();
const PRODUCT = {
  id: newId('prod_', 14), object: 'product', active: true, created: STARTED, default_price: null,
  description: null, features: [], images: [], livemode: false, metadata: {}, name: PRODUCT_NAME,
  package_dimensions: null, shippable: null, statement_descriptor: null, tax_code: null,
  unit_label: null, updated: STARTED, url: null,
};
const PORTAL_CONFIGURATION = newId('bpc_');

/** "id:interval[:amount[:currency]],..." → Map id → price object. */
export function parsePrices(text) {
  const prices = new Map();
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [id, interval, amount, currency = 'usd'] = entry.split(':');
    if (!/^[A-Za-z0-9_]+$/.test(id ?? '') || !['day', 'week', 'month', 'year'].includes(interval)) {
      throw new Error(`FAKE_STRIPE_PRICES: bad entry '${entry}' (id:day|week|month|year[:amount[:currency]])`);
    }
    const unit = amount !== undefined ? Number(amount) : interval === 'year' ? 20000 : 2000;
    prices.set(id, {
      id, object: 'price', active: true, billing_scheme: 'per_unit', created: STARTED, currency,
      custom_unit_amount: null, livemode: false, lookup_key: null, metadata: {}, nickname: null,
      product: PRODUCT.id,
      recurring: { aggregate_usage: null, interval, interval_count: 1, usage_type: 'licensed' },
      tax_behavior: 'unspecified', tiers_mode: null, transform_quantity: null, type: 'recurring',
      unit_amount: unit, unit_amount_decimal: String(unit),
    });
  }
  return prices;
}
const PRICES = parsePrices(process.env.FAKE_STRIPE_PRICES ?? 'price_monthly:month,price_yearly:year');

/** `anchor` plus `count` intervals, in UTC calendar terms (a month from Jan 31 is Feb 28/29). */
export function addInterval(anchor, interval, count) {
  if (interval === 'day') return anchor + 86400 * count;
  if (interval === 'week') return anchor + 7 * 86400 * count;
  const d = new Date(anchor * 1000);
  const months = interval === 'year' ? 12 * count : count;
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(),
      d.getUTCSeconds()) / 1000;
}

const clone = (v) => structuredClone(v);

function isDeepEqual(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Stripe's previous_attributes: the changed keys' old values (changed sub-keys for objects). */
function previousAttributes(before, after) {
  const out = {};
  for (const key of Object.keys(after)) {
    if (isDeepEqual(before[key], after[key])) continue;
    if (isPlainObject(before[key]) && isPlainObject(after[key]) && before[key].object === undefined) {
      out[key] = previousAttributes(before[key], after[key]);
    } else out[key] = before[key] ?? null;
  }
  return out;
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function applyMetadata(existing, update) {
  if (update === undefined) return existing;
  if (update === '') return {};
  const out = { ...existing };
  for (const [k, v] of Object.entries(update)) {
    if (v === '') delete out[k]; else out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Objects (2023-08-16 shapes: fixtures/2023-08-16.json, key for key, in Stripe's order)

function makeCustomer(p) {
  return {
    id: newId('cus_', 14), object: 'customer', address: null, balance: 0, created: now(),
    currency: null, default_source: null, delinquent: false, description: p.description ?? null,
    discount: null, email: p.email ?? null, invoice_prefix: randomString(8, '0123456789ABCDEF'),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false, metadata: applyMetadata({}, p.metadata), name: p.name ?? null,
    next_invoice_sequence: 1, phone: p.phone ?? null, preferred_locales: p.preferred_locales ?? [],
    shipping: null, tax_exempt: 'none', test_clock: null,
  };
}

function makeSubscription(customer, price, quantity, metadata, start) {
  const id = newId('sub_');
  const end = addInterval(start, price.recurring.interval, 1);
  return {
    id, object: 'subscription', application: null, application_fee_percent: null,
    automatic_tax: { enabled: false }, billing_cycle_anchor: start, billing_thresholds: null,
    cancel_at: null, cancel_at_period_end: false, canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically', created: start, currency: price.currency,
    current_period_end: end, current_period_start: start, customer: customer.id,
    days_until_due: null, default_payment_method: newId('pm_'), default_source: null,
    default_tax_rates: [], description: null, discount: null, ended_at: null,
    items: {
      object: 'list',
      data: [{
        id: newId('si_', 14), object: 'subscription_item', billing_thresholds: null, created: start,
        metadata: {}, price: clone(price), quantity, subscription: id, tax_rates: [],
      }],
      has_more: false, url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null, livemode: false, metadata: clone(metadata),
    next_pending_invoice_item_invoice: null, on_behalf_of: null, pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null, pending_setup_intent: null, pending_update: null,
    schedule: null, start_date: start, status: 'active', test_clock: null, transfer_data: null,
    trial_end: null, trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: null,
  };
}

function money(amount, currency) {
  return currency === 'usd' ? `$${(amount / 100).toFixed(2)}` : `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

function makeInvoice(customer, subscription, { reason, periodStart, periodEnd, paid }) {
  const t = now();
  const item = subscription.items.data[0];
  const price = item.price;
  const amount = price.unit_amount * item.quantity;
  const id = newId('in_');
  const number = `${customer.invoice_prefix}-${String(customer.next_invoice_sequence++).padStart(4, '0')}`;
  return {
    id, object: 'invoice', account_country: 'US', account_name: null, account_tax_ids: null,
    amount_due: amount, amount_paid: paid ? amount : 0, amount_remaining: paid ? 0 : amount,
    amount_shipping: 0, application: null, application_fee_amount: null, attempt_count: 1,
    attempted: true, auto_advance: !paid, automatic_tax: { enabled: false, status: null },
    billing_reason: reason, charge: paid ? newId('ch_') : null,
    collection_method: 'charge_automatically', created: t, currency: price.currency,
    custom_fields: null, customer: customer.id, customer_address: null,
    customer_email: customer.email, customer_name: customer.name, customer_phone: null,
    customer_shipping: null, customer_tax_exempt: 'none', customer_tax_ids: [],
    default_payment_method: null, default_source: null, default_tax_rates: [], description: null,
    discount: null, discounts: [], due_date: null, effective_at: t, ending_balance: 0, footer: null,
    from_invoice: null, hosted_invoice_url: null, invoice_pdf: null, last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: 'list',
      data: [{
        id: newId('il_'), object: 'line_item', amount, amount_excluding_tax: amount,
        currency: price.currency,
        description: `${item.quantity} × ${PRODUCT_NAME} (at ${money(price.unit_amount, price.currency)} / ${price.recurring.interval})`,
        discount_amounts: [], discountable: true, discounts: [], livemode: false, metadata: {},
        period: { end: subscription.current_period_end, start: subscription.current_period_start },
        price: clone(price), proration: false, proration_details: { credited_items: null },
        quantity: item.quantity, subscription: subscription.id, subscription_item: item.id,
        tax_amounts: [], tax_rates: [], type: 'subscription',
        unit_amount_excluding_tax: String(price.unit_amount),
      }],
      has_more: false, url: `/v1/invoices/${id}/lines`,
    },
    livemode: false, metadata: {}, next_payment_attempt: paid ? null : t + 3 * 86400, number,
    on_behalf_of: null, paid, paid_out_of_band: false, payment_intent: newId('pi_'),
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: periodEnd, period_start: periodStart, post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0, quote: null, receipt_number: null, rendering_options: null,
    shipping_cost: null, shipping_details: null, starting_balance: 0, statement_descriptor: null,
    status: paid ? 'paid' : 'open',
    status_transitions: { finalized_at: t, marked_uncollectible_at: null, paid_at: paid ? t : null, voided_at: null },
    subscription: subscription.id, subscription_details: { metadata: clone(subscription.metadata) },
    subtotal: amount, subtotal_excluding_tax: amount, tax: null, test_clock: null, total: amount,
    total_discount_amounts: [], total_excluding_tax: amount, total_tax_amounts: [],
    transfer_data: null, webhooks_delivered_at: t,
  };
}

function payInvoice(invoice) {
  const t = now();
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.auto_advance = false;
  invoice.charge = newId('ch_');
  invoice.next_payment_attempt = null;
  invoice.paid = true;
  invoice.status = 'paid';
  invoice.status_transitions.paid_at = t;
}

function lineItems(session) {
  const extra = state.internal.get(session.id);
  return {
    object: 'list',
    data: extra.lineItems.map(({ price, quantity }) => ({
      id: newId('li_'), object: 'item', amount_discount: 0,
      amount_subtotal: price.unit_amount * quantity, amount_tax: 0,
      amount_total: price.unit_amount * quantity, currency: price.currency,
      description: PRODUCT_NAME, price: clone(price), quantity,
    })),
    has_more: false, url: `/v1/checkout/sessions/${session.id}/line_items`,
  };
}

// expand[]: which fields of which object can be expanded, and into what.
const EXPANDABLE = {
  'checkout.session': {
    customer: (id) => state.customers.get(id), subscription: (id) => state.subscriptions.get(id),
    invoice: (id) => state.invoices.get(id), line_items: (_, session) => lineItems(session),
  },
  subscription: {
    customer: (id) => state.customers.get(id), latest_invoice: (id) => state.invoices.get(id),
  },
  invoice: {
    customer: (id) => state.customers.get(id), subscription: (id) => state.subscriptions.get(id),
  },
  price: { product: () => PRODUCT },
  'billing_portal.session': {},
  customer: {},
};

function expand(object, paths) {
  const out = clone(object);
  for (const full of paths ?? []) {
    const parts = full.split('.');
    if (parts.length > 4) {
      throw invalid(`You cannot expand more than 4 levels of a property. Property: ${full}`, { param: 'expand' });
    }
    expandOne(out, parts, full);
  }
  return out;
}

function expandOne(object, parts, full) {
  if (!isPlainObject(object)) return;
  const [head, ...rest] = parts;
  if (object.object === 'list') {
    if (head !== 'data') {
      throw invalid(`This property cannot be expanded (${head}). You may want to try expanding 'data.${head}' instead.`, { param: 'expand' });
    }
    for (const item of object.data) expandOne(item, rest, full);
    return;
  }
  const expander = EXPANDABLE[object.object]?.[head];
  if (expander) {
    if (typeof object[head] === 'string' || (head === 'line_items' && object[head] === undefined)) {
      const found = expander(object[head], object);
      if (found) object[head] = clone(found);
    }
  } else if (!(rest.length > 0 && isPlainObject(object[head]))) {
    throw invalid(`This property cannot be expanded (${head}).`, { param: 'expand' });
  }
  if (rest.length > 0) expandOne(object[head], rest, full);
}

// ---------------------------------------------------------------------------------------------
// Events and webhook deliveries

function createEvent(type, object, { request = null, previous = null } = {}) {
  const data = { object: clone(object) };
  if (previous) data.previous_attributes = previous;
  const event = {
    id: newId('evt_'), object: 'event', api_version: API_VERSION, created: now(), data,
    livemode: false, pending_webhooks: state.webhook ? 1 : 0,
    request: request ?? { id: null, idempotency_key: null }, type,
  };
  const record = { event, body: JSON.stringify(event, null, 2), deliveries: [] };
  state.events.push(record);
  state.eventsById.set(event.id, record);
  return record;
}

function post(url, headers, body) {
  return new Promise((resolve) => {
    let target;
    try { target = new URL(url); } catch { resolve({ status: null, error: `bad URL ${url}` }); return; }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, { method: 'POST', headers, timeout: DELIVERY_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, response: Buffer.concat(chunks).toString('utf8').slice(0, 1000) }));
      res.on('error', (e) => resolve({ status: res.statusCode, error: String(e) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no reply within ${DELIVERY_TIMEOUT_MS} ms`)));
    req.on('error', (e) => resolve({ status: null, error: e.message }));
    req.end(body);
  });
}

async function deliverNow(record) {
  const webhook = state.webhook;
  if (!webhook) return { status: null, error: 'no webhook configured (POST /__webhook)' };
  const t = realNow() + (webhook.timestamp_offset_s ?? 0);
  const signature = signatureHeader(webhook.secret, t, record.body);
  const result = await post(webhook.url, {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    accept: '*/*; q=0.5, application/xml',
    'cache-control': 'no-cache',
    'stripe-signature': signature,
    'content-length': Buffer.byteLength(record.body),
  }, record.body);
  const delivery = { at: Date.now(), url: webhook.url, status: result.status ?? null,
                     error: result.error ?? null, signature, response: result.response ?? null };
  record.deliveries.push(delivery);
  return delivery;
}

/** Queues deliveries after those already queued; resolves with their results, in order. */
function deliver(records) {
  const run = deliveryChain.then(async () => {
    const results = [];
    for (const record of records) {
      const d = state.webhook ? await deliverNow(record) : { status: null, error: 'no webhook configured' };
      results.push({ id: record.event.id, type: record.event.type, status: d.status, error: d.error });
    }
    return results;
  });
  deliveryChain = run.catch(() => {});
  return run;
}

/** The records to deliver, in `order` (event types; each takes the next one of its type). */
function ordered(records, order) {
  if (order === undefined || order === null) return records;
  if (!Array.isArray(order)) throw new ControlError('order must be an array of event types');
  const left = [...records];
  return order.map((type) => {
    const at = left.findIndex((r) => r.event.type === type);
    if (at < 0) throw new ControlError(`order: no (more) ${type} event here; events: ${records.map((r) => r.event.type).join(', ')}`);
    return left.splice(at, 1)[0];
  });
}

// ---------------------------------------------------------------------------------------------
// API endpoints. Each gets {params, id (path), requestId, idempotencyKey, origin, events} and
// returns the object to send (status 200); it throws ApiError for Stripe's errors.

function requestInfo(ctx) {
  return { id: ctx.requestId, idempotency_key: ctx.idempotencyKey ?? null };
}

function customerOr(id, param, status) {
  const customer = state.customers.get(id);
  if (!customer) throw missing('customer', id, param, status);
  return customer;
}

function subscriptionOr(id) {
  const record = state.subscriptions.get(id);
  if (!record) throw missing('subscription', id);
  return record;
}

function expireIfDue(session) {
  if (session.status === 'open' && now() >= session.expires_at) {
    session.status = 'expired';
    session.url = null;
    deliver([createEvent('checkout.session.expired', session)]);
  }
}

const endpoints = {
  createCustomer(ctx) {
    const customer = makeCustomer(ctx.params);
    state.customers.set(customer.id, customer);
    return expand(customer, ctx.params.expand);
  },

  retrieveCustomer(ctx) {
    return expand(customerOr(ctx.id, 'id', 404), ctx.params.expand);
  },

  createCheckoutSession(ctx) {
    const p = ctx.params;
    if (p.mode === undefined) throw invalid('Missing required param: mode.', { code: 'parameter_missing', param: 'mode' });
    if (p.mode !== 'subscription') {
      throw invalid(`The Stripe fake implements only mode=subscription (got ${p.mode})`, { code: 'fake_unsupported_parameter', param: 'mode' });
    }
    if (p.customer !== undefined && p.customer_email !== undefined) {
      throw invalid('You may only specify one of these parameters: customer, customer_email.', { code: 'parameters_exclusive', param: 'customer' });
    }
    const customer = p.customer !== undefined ? customerOr(p.customer, 'customer', 400) : null;
    if (!p.line_items || p.line_items.length === 0) {
      throw invalid('Missing required param: line_items.', { code: 'parameter_missing', param: 'line_items' });
    }
    const items = p.line_items.map((item, i) => {
      if (item.price_data !== undefined) {
        throw invalid(`The Stripe fake knows only its configured prices: use line_items[${i}][price]`, { code: 'fake_unsupported_parameter', param: `line_items[${i}][price_data]` });
      }
      if (item.price === undefined) {
        throw invalid(`You must specify either \`price\` or \`price_data\` for each line item (line_items[${i}]).`, { code: 'parameter_missing', param: `line_items[${i}][price]` });
      }
      const price = PRICES.get(item.price);
      if (!price) throw missing('price', item.price, `line_items[${i}][price]`, 400);
      if (item.quantity === undefined) {
        throw invalid(`Quantity is required. Add \`quantity\` to \`line_items[${i}]\``, { code: 'parameter_missing', param: `line_items[${i}][quantity]` });
      }
      if (item.quantity < 1) throw invalid(`Invalid line_items[${i}][quantity]: must be at least 1`, { param: `line_items[${i}][quantity]` });
      return { price, quantity: item.quantity };
    });
    if (items.length > 1) {
      throw invalid('The Stripe fake implements one line item per subscription', { code: 'fake_unsupported_parameter', param: 'line_items[1]' });
    }
    const created = now();
    if (p.expires_at !== undefined && (p.expires_at < created + 1800 || p.expires_at > created + 86400)) {
      throw invalid('The `expires_at` timestamp must be between 30 minutes and 24 hours after Checkout Session creation.', { param: 'expires_at' });
    }
    const amount = items.reduce((n, { price, quantity }) => n + price.unit_amount * quantity, 0);
    const id = `cs_test_a1${randomString(56)}`;
    const session = {
      id, object: 'checkout.session', after_expiration: null,
      allow_promotion_codes: p.allow_promotion_codes ?? null, amount_subtotal: amount,
      amount_total: amount, automatic_tax: { enabled: false, status: null },
      billing_address_collection: p.billing_address_collection ?? null,
      cancel_url: p.cancel_url ?? null, client_reference_id: p.client_reference_id ?? null,
      consent: null, consent_collection: null, created, currency: items[0].price.currency,
      currency_conversion: null, custom_fields: [], custom_text: { shipping_address: null, submit: null },
      customer: customer?.id ?? null, customer_creation: null, customer_details: null,
      customer_email: p.customer_email ?? null, expires_at: p.expires_at ?? created + 86400,
      invoice: null, invoice_creation: null, livemode: false, locale: p.locale ?? null,
      metadata: applyMetadata({}, p.metadata), mode: 'subscription', payment_intent: null,
      payment_link: null, payment_method_collection: 'always', payment_method_options: {},
      payment_method_types: p.payment_method_types ?? ['card'], payment_status: 'unpaid',
      phone_number_collection: { enabled: false }, recovered_from: null, setup_intent: null,
      shipping_address_collection: null, shipping_cost: null, shipping_details: null,
      shipping_options: [], status: 'open', submit_type: null, subscription: null,
      success_url: p.success_url, total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      url: `${ctx.origin}/c/pay/${id}`,
    };
    state.sessions.set(id, session);
    state.internal.set(id, {
      lineItems: items, subscriptionMetadata: applyMetadata({}, p.subscription_data?.metadata),
    });
    return expand(session, p.expand);
  },

  retrieveCheckoutSession(ctx) {
    const session = state.sessions.get(ctx.id);
    if (!session) throw missing('checkout.session', ctx.id);
    expireIfDue(session);
    return expand(session, ctx.params.expand);
  },

  listSubscriptions(ctx) {
    const p = ctx.params;
    let list = [...state.subscriptions.values()].reverse();  // newest first
    const status = p.status;
    if (status === undefined) list = list.filter((s) => !['canceled', 'incomplete_expired'].includes(s.status));
    else if (status === 'ended') list = list.filter((s) => ['canceled', 'incomplete_expired'].includes(s.status));
    else if (status !== 'all') list = list.filter((s) => s.status === status);
    if (p.customer !== undefined) list = list.filter((s) => s.customer === p.customer);
    if (p.price !== undefined) list = list.filter((s) => s.items.data.some((i) => i.price.id === p.price));
    return page(list, p, '/v1/subscriptions');
  },

  retrieveSubscription(ctx) {
    return expand(subscriptionOr(ctx.id), ctx.params.expand);
  },

  updateSubscription(ctx) {
    const p = ctx.params;
    const subscription = subscriptionOr(ctx.id);
    const before = clone(subscription);
    if (subscription.status === 'canceled') {
      const other = Object.keys(p).find((k) => !['metadata', 'cancellation_details', 'expand'].includes(k));
      if (other) throw invalid('A canceled subscription can only update its cancellation_details and metadata.', { param: other });
    }
    if (p.cancel_at_period_end !== undefined && p.cancel_at_period_end !== subscription.cancel_at_period_end) {
      subscription.cancel_at_period_end = p.cancel_at_period_end;
      if (p.cancel_at_period_end) {
        subscription.cancel_at = subscription.current_period_end;
        subscription.canceled_at = now();
        subscription.cancellation_details.reason = 'cancellation_requested';
      } else {
        subscription.cancel_at = null;
        subscription.canceled_at = null;
        subscription.cancellation_details.reason = null;
      }
    }
    if (p.cancellation_details) applyCancellationDetails(subscription, p.cancellation_details);
    if (p.description !== undefined) subscription.description = p.description === '' ? null : p.description;
    subscription.metadata = applyMetadata(subscription.metadata, p.metadata);
    const previous = previousAttributes(before, subscription);
    if (Object.keys(previous).length > 0) {
      ctx.events.push(createEvent('customer.subscription.updated', subscription, { request: requestInfo(ctx), previous }));
    }
    return expand(subscription, p.expand);
  },

  cancelSubscription(ctx) {
    const subscription = subscriptionOr(ctx.id);
    if (subscription.status === 'canceled') {
      throw missing('subscription', ctx.id);  // Stripe: a canceled subscription cannot be canceled again
    }
    const t = now();
    subscription.status = 'canceled';
    subscription.canceled_at = t;
    subscription.ended_at = t;
    subscription.cancel_at = null;
    subscription.cancel_at_period_end = false;
    subscription.cancellation_details.reason = 'cancellation_requested';
    if (ctx.params.cancellation_details) applyCancellationDetails(subscription, ctx.params.cancellation_details);
    ctx.events.push(createEvent('customer.subscription.deleted', subscription, { request: requestInfo(ctx) }));
    return expand(subscription, ctx.params.expand);
  },

  createPortalSession(ctx) {
    const p = ctx.params;
    const customer = customerOr(p.customer, 'customer', 400);
    if (p.configuration !== undefined && p.configuration !== PORTAL_CONFIGURATION) {
      throw missing('configuration', p.configuration, 'configuration', 400);
    }
    const token = `test_${randomString(48)}`;
    const session = {
      id: newId('bps_'), object: 'billing_portal.session', configuration: PORTAL_CONFIGURATION,
      created: now(), customer: customer.id, flow: null, livemode: false, locale: p.locale ?? null,
      on_behalf_of: null, return_url: p.return_url ?? null, url: `${ctx.origin}/p/session/${token}`,
    };
    state.portalSessions.set(session.id, session);
    state.portalTokens.set(token, session.id);
    return expand(session, p.expand);
  },

  listPrices(ctx) {
    const p = ctx.params;
    let list = [...PRICES.values()];
    if (p.active !== undefined) list = list.filter((x) => x.active === p.active);
    if (p.type !== undefined) list = list.filter((x) => x.type === p.type);
    if (p.currency !== undefined) list = list.filter((x) => x.currency === p.currency);
    if (p.product !== undefined) list = list.filter((x) => x.product === p.product);
    if (p.lookup_keys !== undefined) list = list.filter((x) => p.lookup_keys.includes(x.lookup_key));
    if (p.recurring?.interval !== undefined) list = list.filter((x) => x.recurring?.interval === p.recurring.interval);
    if (p.recurring?.usage_type !== undefined) list = list.filter((x) => x.recurring?.usage_type === p.recurring.usage_type);
    return page(list, p, '/v1/prices');
  },

  retrievePrice(ctx) {
    const price = PRICES.get(ctx.id);
    if (!price) throw missing('price', ctx.id);
    return expand(price, ctx.params.expand);
  },
};

function applyCancellationDetails(subscription, details) {
  for (const key of ['comment', 'feedback']) {
    if (details[key] !== undefined) subscription.cancellation_details[key] = details[key] === '' ? null : details[key];
  }
}

function page(list, p, url) {
  const limit = p.limit ?? 10;
  if (limit < 1 || limit > 100) throw invalid('Invalid limit: must be between 1 and 100', { param: 'limit' });
  if (p.starting_after !== undefined) {
    const at = list.findIndex((x) => x.id === p.starting_after);
    if (at < 0) throw missing('object', p.starting_after, 'starting_after', 400);
    list = list.slice(at + 1);
  }
  const out = { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url };
  return expand(out, p.expand);
}

const PRICE_RETRIEVE_SPEC = {  // GET /v1/prices/{price} is not in the subset: Stripe's `expand`
  operationId: 'GetPricesPrice',
  params: { type: 'object', properties: { expand: { items: { maxLength: 5000, type: 'string' }, type: 'array' } }, required: [] },
  path: { price: { maxLength: 5000, type: 'string' } },
};

const ROUTES = [
  { method: 'POST', pattern: /^\/v1\/customers$/, spec: 'POST /v1/customers', handler: 'createCustomer',
    supported: { description: true, email: true, expand: true, metadata: true, name: true, phone: true, preferred_locales: true } },
  { method: 'GET', pattern: /^\/v1\/customers\/([^/]+)$/, spec: 'GET /v1/customers/{customer}', handler: 'retrieveCustomer', supported: true },
  { method: 'POST', pattern: /^\/v1\/checkout\/sessions$/, spec: 'POST /v1/checkout/sessions', handler: 'createCheckoutSession',
    supported: {
      allow_promotion_codes: true, billing_address_collection: true, cancel_url: true,
      client_reference_id: true, customer: true, customer_email: true, expand: true,
      expires_at: true, line_items: { '*': { price: true, quantity: true, price_data: true } },
      locale: true, metadata: true, mode: true, payment_method_types: true,
      subscription_data: { metadata: true }, success_url: true,
    } },
  { method: 'GET', pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/, spec: 'GET /v1/checkout/sessions/{session}', handler: 'retrieveCheckoutSession', supported: true },
  { method: 'GET', pattern: /^\/v1\/subscriptions$/, spec: 'GET /v1/subscriptions', handler: 'listSubscriptions',
    supported: { customer: true, expand: true, limit: true, price: true, starting_after: true, status: true } },
  { method: 'GET', pattern: /^\/v1\/subscriptions\/([^/]+)$/, spec: 'GET /v1/subscriptions/{subscription_exposed_id}', handler: 'retrieveSubscription', supported: true },
  { method: 'POST', pattern: /^\/v1\/subscriptions\/([^/]+)$/, spec: 'POST /v1/subscriptions/{subscription_exposed_id}', handler: 'updateSubscription',
    supported: { cancel_at_period_end: true, cancellation_details: true, description: true, expand: true, metadata: true, proration_behavior: true } },
  { method: 'DELETE', pattern: /^\/v1\/subscriptions\/([^/]+)$/, spec: 'DELETE /v1/subscriptions/{subscription_exposed_id}', handler: 'cancelSubscription',
    supported: { cancellation_details: true, expand: true, invoice_now: true, prorate: true } },
  { method: 'POST', pattern: /^\/v1\/billing_portal\/sessions$/, spec: 'POST /v1/billing_portal/sessions', handler: 'createPortalSession',
    supported: { configuration: true, customer: true, expand: true, locale: true, return_url: true } },
  { method: 'GET', pattern: /^\/v1\/prices$/, spec: 'GET /v1/prices', handler: 'listPrices',
    supported: { active: true, currency: true, expand: true, limit: true, lookup_keys: true, product: true, recurring: true, starting_after: true, type: true } },
  { method: 'GET', pattern: /^\/v1\/prices\/([^/]+)$/, spec: PRICE_RETRIEVE_SPEC, handler: 'retrievePrice', supported: true },
];

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json', ...headers });
  res.end(text);
}

function authenticate(req) {
  const header = req.headers.authorization ?? '';
  let key = null;
  if (/^Bearer /i.test(header)) key = header.slice(7).trim();
  else if (/^Basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    key = decoded.slice(0, decoded.indexOf(':') < 0 ? undefined : decoded.indexOf(':'));
  }
  const headers = { 'www-authenticate': 'Basic realm="Stripe"' };
  if (!key) {
    throw new ApiError(401, 'invalid_request_error', "You did not provide an API key. You need to " +
        "provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: " +
        "Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or " +
        'we can help at https://support.stripe.com/.', { headers, logUrl: false });
  }
  if (key !== API_KEY) {
    const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? '';
    const shown = key.length > prefix.length + 4 ? `${prefix}${'*'.repeat(key.length - prefix.length - 4)}${key.slice(-4)}` : '****';
    throw new ApiError(401, 'invalid_request_error', `Invalid API Key provided: ${shown}`, { headers, logUrl: false });
  }
}

function record(req, url, raw) {
  const entry = {
    received_at: Date.now(), method: req.method, path: url.pathname, query: url.search.slice(1),
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: raw.toString('utf8'), fields: null, params: null,
  };
  state.requests.push(entry);
  return entry;
}

function scriptedBody(status) {
  if (status === 429) {
    return { error: { code: 'rate_limit', doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
      message: 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
      type: 'invalid_request_error' } };
  }
  return { error: { message: 'Scripted error (tests/fakes/stripe.mjs)', type: 'api_error' } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(req, res, raw) {
  const url = new URL(req.url, 'http://fake');
  const requestId = newId('req_', 14);
  const entry = record(req, url, raw);
  const headers = { 'request-id': requestId, 'stripe-version': API_VERSION };
  const fail = (e) => send(res, e.status, errorBody(e, requestId), { ...headers, ...(e.headers ?? {}) });
  let idempotency = null;
  try {
    authenticate(req);
    const version = req.headers['stripe-version'];
    if (version !== undefined && version !== API_VERSION) {
      throw invalid(/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(version)
        ? `This Stripe fake implements Stripe-Version ${API_VERSION} only, not ${version}`
        : `Invalid Stripe API version: ${version}`);
    }
    let route = null;
    let match = null;
    for (const r of ROUTES) {
      if (r.method === req.method && (match = r.pattern.exec(url.pathname))) { route = r; break; }
    }
    if (!route) {
      throw new ApiError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname}). ` +
          'Please see https://stripe.com/docs or we can help at https://support.stripe.com/.');
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (raw.length > 0 && type !== 'application/x-www-form-urlencoded') {
      throw invalid(`Invalid request: unsupported Content-Type ${type || '(none)'}. If error persists ` +
          'and you need assistance, please contact support@stripe.com.');
    }
    let pairs;
    try { pairs = [...parsePairs(url.search.slice(1)), ...parsePairs(raw.toString('utf8'))]; } catch {
      throw invalid('Invalid request: the parameters are not valid application/x-www-form-urlencoded (bad percent-encoding)');
    }
    entry.fields = pairs;
    let nested;
    try { nested = nestPairs(pairs); } catch (e) {
      if (e instanceof FormError) throw invalid(e.message, { param: e.param });
      throw e;
    }
    entry.params = nested;
    const spec = typeof route.spec === 'string' ? SPEC[route.spec] : route.spec;
    const id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);

    const key = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    if (key !== undefined) {
      headers['idempotency-key'] = key;
      if (key.length > 255) {
        throw invalid("Keys for idempotent requests can only be 255 characters long and must be unique. If you're using UUIDs, you can use UUIDv4.", { param: 'Idempotency-Key' });
      }
      const fingerprint = canonical({ method: req.method, path: url.pathname, params: nested });
      const saved = state.idempotency.get(key);
      if (saved && saved.expires > now()) {
        if (saved.path !== `${req.method} ${url.pathname}`) {
          throw new ApiError(400, 'idempotency_error', `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.path}' vs '${req.method} ${url.pathname}'). Try using a key other than '${key}' if you meant to execute a different request.`);
        }
        if (saved.fingerprint !== fingerprint) {
          throw new ApiError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
        }
        if (saved.response === null) {
          throw new ApiError(409, 'idempotency_error', 'There is currently another in-progress request using this Idempotent Key (probably a request with the same key that was interrupted). Please try again later.');
        }
        return send(res, saved.response.status, saved.response.body, { ...saved.response.headers, 'idempotent-replayed': 'true' });
      }
      idempotency = { key, fingerprint, path: `${req.method} ${url.pathname}` };
    }

    for (const [name, schema] of Object.entries(spec.path)) {
      if (schema.maxLength !== undefined && id !== undefined && id.length > schema.maxLength) {
        throw missing(name === 'session' ? 'checkout.session' : name, id);
      }
    }
    const params = validateParams(spec.params, nested);
    checkSupported(route.supported, params);

    if (idempotency) state.idempotency.set(idempotency.key, { ...idempotency, response: null, expires: now() + IDEMPOTENCY_TTL_S });
    const scripted = state.queue.shift();
    if (scripted?.delay_ms) {
      const before = state;
      await sleep(scripted.delay_ms);
      if (state !== before) { req.socket.destroy(); return; }  // /__reset meanwhile: forget it
    }
    if (scripted?.drop || (scripted?.status && res.destroyed)) {
      if (idempotency) state.idempotency.delete(idempotency.key);
      req.socket.destroy();
      return;
    }
    if (scripted?.status) {
      if (idempotency) state.idempotency.delete(idempotency.key);
      return send(res, scripted.status, scripted.body ?? scriptedBody(scripted.status), { ...headers, ...(scripted.headers ?? {}) });
    }

    const ctx = { params, id, requestId, idempotencyKey: key, origin: `http://${req.headers.host}`, events: [] };
    let status = 200;
    let body;
    try { body = endpoints[route.handler](ctx); } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      status = e.status;
      body = errorBody(e, requestId);
    }
    if (idempotency) {
      state.idempotency.set(idempotency.key, { ...idempotency, expires: now() + IDEMPOTENCY_TTL_S,
                                               response: { status, body, headers: { ...headers } } });
    }
    if (!res.destroyed) send(res, status, body, headers);
    if (ctx.events.length > 0) deliver(ctx.events);
  } catch (e) {
    if (idempotency && state.idempotency.get(idempotency.key)?.response === null) state.idempotency.delete(idempotency.key);
    if (e instanceof ApiError) return fail(e);
    return fail(new ApiError(500, 'api_error', `The Stripe fake failed: ${e.stack ?? e}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Control API: what the customer, the passing of time and Stripe's dashboard do.

class ControlError extends Error {
  constructor(message, status = 400) { super(message); this.status = status; }
}

function completeCheckout(sessionId) {
  const session = state.sessions.get(sessionId);
  if (!session) throw new ControlError(`no checkout session ${sessionId}`, 404);
  expireIfDue(session);
  if (session.status !== 'open') throw new ControlError(`checkout session ${sessionId} is ${session.status}, not open`);
  const extra = state.internal.get(session.id);
  let customer = session.customer ? state.customers.get(session.customer) : null;
  if (!customer) {
    customer = makeCustomer({ email: session.customer_email ?? 'customer@example.com' });
    state.customers.set(customer.id, customer);
  }
  customer.currency ??= session.currency;
  const { price, quantity } = extra.lineItems[0];
  const start = now();
  const subscription = makeSubscription(customer, price, quantity, extra.subscriptionMetadata, start);
  const invoice = makeInvoice(customer, subscription, {
    reason: 'subscription_create', periodStart: start, periodEnd: start, paid: true,
  });
  subscription.latest_invoice = invoice.id;
  state.subscriptions.set(subscription.id, subscription);
  state.internal.set(subscription.id, { anchor: start, periods: 1 });
  state.invoices.set(invoice.id, invoice);
  Object.assign(session, {
    customer: customer.id,
    customer_details: { address: null, email: customer.email, name: customer.name, phone: null, tax_exempt: 'none', tax_ids: [] },
    payment_status: 'paid', status: 'complete', subscription: subscription.id, url: null,
  });
  const records = [
    createEvent('checkout.session.completed', session),
    createEvent('customer.subscription.created', subscription),
    createEvent('invoice.paid', invoice),
  ];
  return { session, subscription, invoice, records };
}

function advance(subscriptionId, body) {
  const subscription = state.subscriptions.get(subscriptionId);
  if (!subscription) throw new ControlError(`no subscription ${subscriptionId}`, 404);
  const to = body.to ?? 'period_end';
  const internal = state.internal.get(subscription.id);
  const customer = state.customers.get(subscription.customer);
  const records = [];
  let invoice = null;
  if (subscription.status === 'canceled') throw new ControlError(`subscription ${subscriptionId} is canceled`);
  if (to === 'period_end') {
    moveClockTo(subscription.current_period_end);
    if (subscription.cancel_at_period_end) {
      subscription.status = 'canceled';
      subscription.ended_at = subscription.current_period_end;
      records.push(createEvent('customer.subscription.deleted', subscription));
    } else {
      const before = clone(subscription);
      const interval = subscription.items.data[0].price.recurring.interval;
      const oldStart = subscription.current_period_start;
      const oldEnd = subscription.current_period_end;
      internal.periods += 1;
      subscription.current_period_start = oldEnd;
      subscription.current_period_end = addInterval(internal.anchor, interval, internal.periods);
      const paid = !body.fail_payment;
      invoice = makeInvoice(customer, subscription, { reason: 'subscription_cycle', periodStart: oldStart, periodEnd: oldEnd, paid });
      state.invoices.set(invoice.id, invoice);
      subscription.latest_invoice = invoice.id;
      if (paid && subscription.status === 'past_due') subscription.status = 'active';
      records.push(createEvent('customer.subscription.updated', subscription, { previous: previousAttributes(before, subscription) }));
      if (paid) records.push(createEvent('invoice.paid', invoice));
      else {
        records.push(createEvent('invoice.payment_failed', invoice));
        if (subscription.status !== 'past_due') {
          const was = clone(subscription);
          subscription.status = 'past_due';
          records.push(createEvent('customer.subscription.updated', subscription, { previous: previousAttributes(was, subscription) }));
        }
      }
    }
  } else if (to === 'retry') {
    invoice = state.invoices.get(subscription.latest_invoice);
    if (subscription.status !== 'past_due' || !invoice || invoice.status !== 'open') {
      throw new ControlError(`subscription ${subscriptionId} has no open invoice to retry (status ${subscription.status})`);
    }
    moveClockTo(invoice.next_payment_attempt ?? now());
    if (body.fail_payment) {
      invoice.attempt_count += 1;
      invoice.next_payment_attempt = now() + 3 * 86400;
      records.push(createEvent('invoice.payment_failed', invoice));
    } else {
      invoice.attempt_count += 1;
      payInvoice(invoice);
      const before = clone(subscription);
      subscription.status = 'active';
      records.push(createEvent('invoice.paid', invoice));
      records.push(createEvent('customer.subscription.updated', subscription, { previous: previousAttributes(before, subscription) }));
    }
  } else throw new ControlError(`advance: "to" must be "period_end" or "retry", not ${JSON.stringify(to)}`);
  return { subscription, invoice, records };
}

function eventSummary(record) {
  const last = record.deliveries.at(-1);
  return {
    id: record.event.id, type: record.event.type, created: record.event.created,
    object_id: record.event.data.object.id ?? null,
    delivered: record.deliveries.some((d) => d.status >= 200 && d.status < 300),
    status: last?.status ?? null, deliveries: record.deliveries, event: record.event,
  };
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

async function control(req, res, raw, url) {
  const key = `${req.method} ${url.pathname}`;
  let body = {};
  if (req.method === 'POST' && raw.length > 0 && !url.pathname.startsWith('/c/pay/')) {
    try { body = JSON.parse(raw.toString('utf8')); } catch { throw new ControlError('bad JSON'); }
    if (!isPlainObject(body)) throw new ControlError('the body must be a JSON object');
  }
  if (key === 'GET /__requests') return send(res, 200, state.requests);
  if (key === 'POST /__reset') {
    state = freshState();
    return send(res, 200, { ok: true });
  }
  if (key === 'POST /__script') {
    if (body.responses !== undefined && !Array.isArray(body.responses)) throw new ControlError('responses must be an array');
    state.queue.push(...(body.responses ?? []));
    return send(res, 200, { queued: state.queue.length });
  }
  if (key === 'POST /__webhook') {
    if (body.url === null) { state.webhook = null; return send(res, 200, { ok: true }); }
    const secrets = Array.isArray(body.secret) ? body.secret : [body.secret];
    if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url)) throw new ControlError('url must be an http(s) URL');
    if (secrets.length === 0 || !secrets.every((s) => typeof s === 'string' && s.length > 0)) {
      throw new ControlError('secret must be a non-empty string or an array of them');
    }
    state.webhook = { url: body.url, secret: secrets, timestamp_offset_s: Number(body.timestamp_offset_s ?? 0) };
    return send(res, 200, { ok: true });
  }
  if (key === 'POST /__clock') {
    if (body.now === null) state.clock = { fixed: null, offset: 0 };
    else if (Number.isInteger(body.now)) state.clock = { fixed: body.now, offset: 0 };
    else throw new ControlError('now must be unix seconds (an integer) or null');
    return send(res, 200, { now: now(), fixed: state.clock.fixed !== null });
  }
  if (key === 'POST /__checkout/complete') {
    if (typeof body.session !== 'string') throw new ControlError('session (a cs_... id) is required');
    const done = completeCheckout(body.session);
    const events = await deliver(ordered(done.records, body.order));
    return send(res, 200, { session: done.session, subscription: done.subscription, invoice: done.invoice, events });
  }
  let m;
  if (req.method === 'POST' && (m = /^\/__subscriptions\/([^/]+)\/advance$/.exec(url.pathname))) {
    const done = advance(decodeURIComponent(m[1]), body);
    const events = await deliver(ordered(done.records, body.order));
    return send(res, 200, { subscription: done.subscription, invoice: done.invoice, events });
  }
  if (req.method === 'POST' && (m = /^\/__events\/([^/]+)\/resend$/.exec(url.pathname))) {
    const record = state.eventsById.get(decodeURIComponent(m[1]));
    if (!record) throw new ControlError(`no event ${m[1]}`, 404);
    if (!state.webhook) throw new ControlError('no webhook configured (POST /__webhook)');
    const [result] = await deliver([record]);
    return send(res, 200, result);
  }
  if (key === 'GET /__events') {
    if (url.searchParams.get('settle')) await Promise.race([deliveryChain, sleep(10_000)]);
    return send(res, 200, state.events.map(eventSummary));
  }
  if ((m = /^\/c\/pay\/([^/]+)$/.exec(url.pathname))) {
    const session = state.sessions.get(decodeURIComponent(m[1]));
    if (!session) return send(res, 404, '<!doctype html><title>Not found</title><p>No such checkout session.');
    if (req.method === 'POST') {
      const done = completeCheckout(session.id);
      await deliver(done.records);
      const location = (session.success_url ?? '/').replace('{CHECKOUT_SESSION_ID}', session.id);
      res.writeHead(303, { location });
      return res.end();
    }
    const price = state.internal.get(session.id).lineItems[0].price;
    return send(res, 200, `<!doctype html><meta charset="utf-8"><title>Fake Stripe Checkout</title>
<h1>${escapeHtml(PRODUCT_NAME)}: ${escapeHtml(money(session.amount_total, session.currency))} / ${escapeHtml(price.recurring.interval)}</h1>
<p>Session ${escapeHtml(session.id)} is ${escapeHtml(session.status)}.</p>
${session.status === 'open' ? `<form method="post"><button id="pay" type="submit">Pay</button></form>` : ''}
${session.cancel_url ? `<p><a id="cancel" href="${escapeHtml(session.cancel_url)}">Cancel</a></p>` : ''}`);
  }
  if (req.method === 'GET' && (m = /^\/p\/session\/([^/]+)$/.exec(url.pathname))) {
    const session = state.portalSessions.get(state.portalTokens.get(m[1]));
    if (!session) return send(res, 404, '<!doctype html><title>Not found</title><p>No such portal session.');
    const subscriptions = [...state.subscriptions.values()].filter((s) => s.customer === session.customer);
    return send(res, 200, `<!doctype html><meta charset="utf-8"><title>Fake Stripe customer portal</title>
<h1>Subscriptions of ${escapeHtml(session.customer)}</h1>
<ul>${subscriptions.map((s) => `<li>${escapeHtml(s.id)}: ${escapeHtml(s.status)}${s.cancel_at_period_end ? ' (cancels at period end)' : ''}</li>`).join('')}</ul>
${session.return_url ? `<p><a id="return" href="${escapeHtml(session.return_url)}">Return</a></p>` : ''}`);
  }
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      send(res, 413, errorBody(invalid('Request body too large'), null));
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', async () => {
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://fake');
    try {
      if (url.pathname.startsWith('/v1/')) return await api(req, res, raw);
      const handled = await control(req, res, raw, url);
      if (handled === null) {
        send(res, 404, errorBody(new ApiError(404, 'invalid_request_error',
            `Unrecognized request URL (${req.method}: ${url.pathname}). Please see https://stripe.com/docs ` +
            'or we can help at https://support.stripe.com/.'), null));
      }
    } catch (e) {
      if (res.headersSent) return;
      if (e instanceof ControlError) send(res, e.status, { error: e.message });
      else send(res, 500, { error: String(e.stack ?? e) });
    }
  });
});

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const portArg = process.argv.indexOf('--port');
  server.listen(portArg > 0 ? Number(process.argv[portArg + 1]) : 0, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

// ---------------------------------------------------------------------------------------------
// The request parameters of each operation, from openapi-2023-08-16.subset.json (stripe/openapi
// spec3 at 63a67463, 2023-09-12): query parameters for GET, the form body for the others, with
// description/title/x-stripe* removed. Regenerate with:
//   python3 - ../shared/apis/stripe/openapi-2023-08-16.subset.json <<'EOF'
//   import json, sys
//   s = json.load(open(sys.argv[1]))
//   DROP = {'description', 'title', 'x-stripeBypassValidation', 'x-expansionResources', 'x-stripeResource'}
//   def strip(x):
//       if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k not in DROP}
//       if isinstance(x, list): return [strip(v) for v in x]
//       return x
//   OPS = [('POST', '/v1/customers'), ('GET', '/v1/customers/{customer}'),
//          ('POST', '/v1/checkout/sessions'), ('GET', '/v1/checkout/sessions/{session}'),
//          ('GET', '/v1/subscriptions'), ('GET', '/v1/subscriptions/{subscription_exposed_id}'),
//          ('POST', '/v1/subscriptions/{subscription_exposed_id}'),
//          ('DELETE', '/v1/subscriptions/{subscription_exposed_id}'),
//          ('POST', '/v1/billing_portal/sessions'), ('GET', '/v1/prices')]
//   print('export const SPEC = {')
//   for method, path in OPS:
//       op = s['paths'][path][method.lower()]
//       params = [p for p in op.get('parameters', [])]
//       if method == 'GET':
//           q = [p for p in params if p['in'] == 'query']
//           body = {'type': 'object', 'properties': {p['name']: strip(p['schema']) for p in q},
//                   'required': [p['name'] for p in q if p.get('required')]}
//       else:
//           b = strip(op['requestBody']['content']['application/x-www-form-urlencoded']['schema'])
//           body = {'type': 'object', 'properties': b.get('properties', {}), 'required': b.get('required', [])}
//       entry = {'operationId': op['operationId'], 'params': body,
//                'path': {p['name']: strip(p['schema']) for p in params if p['in'] == 'path'}}
//       print(f'  {json.dumps(method + " " + path)}: {json.dumps(entry, separators=(",", ":"))},')
//   print('};')
//   EOF
export const SPEC = {
  "POST /v1/customers": {"operationId":"PostCustomers","params":{"type":"object","properties":{"address":{"anyOf":[{"properties":{"city":{"maxLength":5000,"type":"string"},"country":{"maxLength":5000,"type":"string"},"line1":{"maxLength":5000,"type":"string"},"line2":{"maxLength":5000,"type":"string"},"postal_code":{"maxLength":5000,"type":"string"},"state":{"maxLength":5000,"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]},"balance":{"type":"integer"},"cash_balance":{"properties":{"settings":{"properties":{"reconciliation_mode":{"enum":["automatic","manual","merchant_default"],"type":"string"}},"type":"object"}},"type":"object"},"coupon":{"maxLength":5000,"type":"string"},"email":{"maxLength":512,"type":"string"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"invoice_prefix":{"maxLength":5000,"type":"string"},"invoice_settings":{"properties":{"custom_fields":{"anyOf":[{"items":{"properties":{"name":{"maxLength":30,"type":"string"},"value":{"maxLength":30,"type":"string"}},"required":["name","value"],"type":"object"},"type":"array"},{"enum":[""],"type":"string"}]},"default_payment_method":{"maxLength":5000,"type":"string"},"footer":{"maxLength":5000,"type":"string"},"rendering_options":{"anyOf":[{"properties":{"amount_tax_display":{"enum":["","exclude_tax","include_inclusive_tax"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]}},"type":"object"},"metadata":{"anyOf":[{"additionalProperties":{"type":"string"},"type":"object"},{"enum":[""],"type":"string"}]},"name":{"maxLength":256,"type":"string"},"next_invoice_sequence":{"type":"integer"},"payment_method":{"maxLength":5000,"type":"string"},"phone":{"maxLength":20,"type":"string"},"preferred_locales":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"promotion_code":{"maxLength":5000,"type":"string"},"shipping":{"anyOf":[{"properties":{"address":{"properties":{"city":{"maxLength":5000,"type":"string"},"country":{"maxLength":5000,"type":"string"},"line1":{"maxLength":5000,"type":"string"},"line2":{"maxLength":5000,"type":"string"},"postal_code":{"maxLength":5000,"type":"string"},"state":{"maxLength":5000,"type":"string"}},"type":"object"},"name":{"maxLength":5000,"type":"string"},"phone":{"maxLength":5000,"type":"string"}},"required":["address","name"],"type":"object"},{"enum":[""],"type":"string"}]},"source":{"maxLength":5000,"type":"string"},"tax":{"properties":{"ip_address":{"anyOf":[{"type":"string"},{"enum":[""],"type":"string"}]}},"type":"object"},"tax_exempt":{"enum":["","exempt","none","reverse"],"type":"string"},"tax_id_data":{"items":{"properties":{"type":{"enum":["ad_nrt","ae_trn","ar_cuit","au_abn","au_arn","bg_uic","bo_tin","br_cnpj","br_cpf","ca_bn","ca_gst_hst","ca_pst_bc","ca_pst_mb","ca_pst_sk","ca_qst","ch_vat","cl_tin","cn_tin","co_nit","cr_tin","do_rcn","ec_ruc","eg_tin","es_cif","eu_oss_vat","eu_vat","gb_vat","ge_vat","hk_br","hu_tin","id_npwp","il_vat","in_gst","is_vat","jp_cn","jp_rn","jp_trn","ke_pin","kr_brn","li_uid","mx_rfc","my_frp","my_itn","my_sst","no_vat","nz_gst","pe_ruc","ph_tin","ro_tin","rs_pib","ru_inn","ru_kpp","sa_vat","sg_gst","sg_uen","si_tin","sv_nit","th_vat","tr_tin","tw_vat","ua_vat","us_ein","uy_ruc","ve_rif","vn_tin","za_vat"],"maxLength":5000,"type":"string"},"value":{"type":"string"}},"required":["type","value"],"type":"object"},"type":"array"},"test_clock":{"maxLength":5000,"type":"string"}},"required":[]},"path":{}},
  "GET /v1/customers/{customer}": {"operationId":"GetCustomersCustomer","params":{"type":"object","properties":{"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"}},"required":[]},"path":{"customer":{"maxLength":5000,"type":"string"}}},
  "POST /v1/checkout/sessions": {"operationId":"PostCheckoutSessions","params":{"type":"object","properties":{"after_expiration":{"properties":{"recovery":{"properties":{"allow_promotion_codes":{"type":"boolean"},"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"}},"type":"object"},"allow_promotion_codes":{"type":"boolean"},"automatic_tax":{"properties":{"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"},"billing_address_collection":{"enum":["auto","required"],"type":"string"},"cancel_url":{"maxLength":5000,"type":"string"},"client_reference_id":{"maxLength":200,"type":"string"},"consent_collection":{"properties":{"promotions":{"enum":["auto","none"],"type":"string"},"terms_of_service":{"enum":["none","required"],"type":"string"}},"type":"object"},"currency":{"type":"string"},"custom_fields":{"items":{"properties":{"dropdown":{"properties":{"options":{"items":{"properties":{"label":{"maxLength":100,"type":"string"},"value":{"maxLength":100,"type":"string"}},"required":["label","value"],"type":"object"},"type":"array"}},"required":["options"],"type":"object"},"key":{"maxLength":200,"type":"string"},"label":{"properties":{"custom":{"maxLength":50,"type":"string"},"type":{"enum":["custom"],"type":"string"}},"required":["custom","type"],"type":"object"},"numeric":{"properties":{"maximum_length":{"type":"integer"},"minimum_length":{"type":"integer"}},"type":"object"},"optional":{"type":"boolean"},"text":{"properties":{"maximum_length":{"type":"integer"},"minimum_length":{"type":"integer"}},"type":"object"},"type":{"enum":["dropdown","numeric","text"],"type":"string"}},"required":["key","label","type"],"type":"object"},"type":"array"},"custom_text":{"properties":{"shipping_address":{"anyOf":[{"properties":{"message":{"maxLength":1000,"type":"string"}},"required":["message"],"type":"object"},{"enum":[""],"type":"string"}]},"submit":{"anyOf":[{"properties":{"message":{"maxLength":1000,"type":"string"}},"required":["message"],"type":"object"},{"enum":[""],"type":"string"}]}},"type":"object"},"customer":{"maxLength":5000,"type":"string"},"customer_creation":{"enum":["always","if_required"],"type":"string"},"customer_email":{"type":"string"},"customer_update":{"properties":{"address":{"enum":["auto","never"],"type":"string"},"name":{"enum":["auto","never"],"type":"string"},"shipping":{"enum":["auto","never"],"type":"string"}},"type":"object"},"discounts":{"items":{"properties":{"coupon":{"maxLength":5000,"type":"string"},"promotion_code":{"maxLength":5000,"type":"string"}},"type":"object"},"type":"array"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"expires_at":{"format":"unix-time","type":"integer"},"invoice_creation":{"properties":{"enabled":{"type":"boolean"},"invoice_data":{"properties":{"account_tax_ids":{"anyOf":[{"items":{"maxLength":5000,"type":"string"},"type":"array"},{"enum":[""],"type":"string"}]},"custom_fields":{"anyOf":[{"items":{"properties":{"name":{"maxLength":30,"type":"string"},"value":{"maxLength":30,"type":"string"}},"required":["name","value"],"type":"object"},"type":"array"},{"enum":[""],"type":"string"}]},"footer":{"maxLength":5000,"type":"string"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"rendering_options":{"anyOf":[{"properties":{"amount_tax_display":{"enum":["","exclude_tax","include_inclusive_tax"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]}},"type":"object"}},"required":["enabled"],"type":"object"},"line_items":{"items":{"properties":{"adjustable_quantity":{"properties":{"enabled":{"type":"boolean"},"maximum":{"type":"integer"},"minimum":{"type":"integer"}},"required":["enabled"],"type":"object"},"dynamic_tax_rates":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"price":{"maxLength":5000,"type":"string"},"price_data":{"properties":{"currency":{"type":"string"},"product":{"maxLength":5000,"type":"string"},"product_data":{"properties":{"images":{"items":{"type":"string"},"type":"array"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"name":{"maxLength":5000,"type":"string"},"tax_code":{"maxLength":5000,"type":"string"}},"required":["name"],"type":"object"},"recurring":{"properties":{"interval":{"enum":["day","month","week","year"],"type":"string"},"interval_count":{"type":"integer"}},"required":["interval"],"type":"object"},"tax_behavior":{"enum":["exclusive","inclusive","unspecified"],"type":"string"},"unit_amount":{"type":"integer"},"unit_amount_decimal":{"format":"decimal","type":"string"}},"required":["currency"],"type":"object"},"quantity":{"type":"integer"},"tax_rates":{"items":{"maxLength":5000,"type":"string"},"type":"array"}},"type":"object"},"type":"array"},"locale":{"enum":["auto","bg","cs","da","de","el","en","en-GB","es","es-419","et","fi","fil","fr","fr-CA","hr","hu","id","it","ja","ko","lt","lv","ms","mt","nb","nl","pl","pt","pt-BR","ro","ru","sk","sl","sv","th","tr","vi","zh","zh-HK","zh-TW"],"type":"string"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"mode":{"enum":["payment","setup","subscription"],"type":"string"},"payment_intent_data":{"properties":{"application_fee_amount":{"type":"integer"},"capture_method":{"enum":["automatic","automatic_async","manual"],"type":"string"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"on_behalf_of":{"type":"string"},"receipt_email":{"type":"string"},"setup_future_usage":{"enum":["off_session","on_session"],"type":"string"},"shipping":{"properties":{"address":{"properties":{"city":{"maxLength":5000,"type":"string"},"country":{"maxLength":5000,"type":"string"},"line1":{"maxLength":5000,"type":"string"},"line2":{"maxLength":5000,"type":"string"},"postal_code":{"maxLength":5000,"type":"string"},"state":{"maxLength":5000,"type":"string"}},"required":["line1"],"type":"object"},"carrier":{"maxLength":5000,"type":"string"},"name":{"maxLength":5000,"type":"string"},"phone":{"maxLength":5000,"type":"string"},"tracking_number":{"maxLength":5000,"type":"string"}},"required":["address","name"],"type":"object"},"statement_descriptor":{"maxLength":22,"type":"string"},"statement_descriptor_suffix":{"maxLength":22,"type":"string"},"transfer_data":{"properties":{"amount":{"type":"integer"},"destination":{"type":"string"}},"required":["destination"],"type":"object"},"transfer_group":{"type":"string"}},"type":"object"},"payment_method_collection":{"enum":["always","if_required"],"type":"string"},"payment_method_options":{"properties":{"acss_debit":{"properties":{"currency":{"enum":["cad","usd"],"type":"string"},"mandate_options":{"properties":{"custom_mandate_url":{"anyOf":[{"type":"string"},{"enum":[""],"type":"string"}]},"default_for":{"items":{"enum":["invoice","subscription"],"type":"string"},"type":"array"},"interval_description":{"maxLength":500,"type":"string"},"payment_schedule":{"enum":["combined","interval","sporadic"],"type":"string"},"transaction_type":{"enum":["business","personal"],"type":"string"}},"type":"object"},"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"},"verification_method":{"enum":["automatic","instant","microdeposits"],"type":"string"}},"type":"object"},"affirm":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"afterpay_clearpay":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"alipay":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"au_becs_debit":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"bacs_debit":{"properties":{"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"}},"type":"object"},"bancontact":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"boleto":{"properties":{"expires_after_days":{"type":"integer"},"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"}},"type":"object"},"card":{"properties":{"installments":{"properties":{"enabled":{"type":"boolean"}},"type":"object"},"setup_future_usage":{"enum":["off_session","on_session"],"type":"string"},"statement_descriptor_suffix_kana":{"maxLength":22,"type":"string"},"statement_descriptor_suffix_kanji":{"maxLength":17,"type":"string"}},"type":"object"},"cashapp":{"properties":{"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"}},"type":"object"},"customer_balance":{"properties":{"bank_transfer":{"properties":{"eu_bank_transfer":{"properties":{"country":{"maxLength":5000,"type":"string"}},"required":["country"],"type":"object"},"requested_address_types":{"items":{"enum":["aba","iban","sepa","sort_code","spei","swift","zengin"],"type":"string"},"type":"array"},"type":{"enum":["eu_bank_transfer","gb_bank_transfer","jp_bank_transfer","mx_bank_transfer","us_bank_transfer"],"type":"string"}},"required":["type"],"type":"object"},"funding_type":{"enum":["bank_transfer"],"type":"string"},"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"eps":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"fpx":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"giropay":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"grabpay":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"ideal":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"klarna":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"konbini":{"properties":{"expires_after_days":{"type":"integer"},"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"link":{"properties":{"setup_future_usage":{"enum":["none","off_session"],"type":"string"}},"type":"object"},"oxxo":{"properties":{"expires_after_days":{"type":"integer"},"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"p24":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"},"tos_shown_and_accepted":{"type":"boolean"}},"type":"object"},"paynow":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"paypal":{"properties":{"capture_method":{"enum":["","manual"],"type":"string"},"preferred_locale":{"enum":["cs-CZ","da-DK","de-AT","de-DE","de-LU","el-GR","en-GB","en-US","es-ES","fi-FI","fr-BE","fr-FR","fr-LU","hu-HU","it-IT","nl-BE","nl-NL","pl-PL","pt-PT","sk-SK","sv-SE"],"type":"string"},"reference":{"maxLength":127,"type":"string"},"risk_correlation_id":{"maxLength":32,"type":"string"},"setup_future_usage":{"enum":["","none","off_session"],"type":"string"}},"type":"object"},"pix":{"properties":{"expires_after_seconds":{"type":"integer"}},"type":"object"},"sepa_debit":{"properties":{"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"}},"type":"object"},"sofort":{"properties":{"setup_future_usage":{"enum":["none"],"type":"string"}},"type":"object"},"us_bank_account":{"properties":{"financial_connections":{"properties":{"permissions":{"items":{"enum":["balances","ownership","payment_method","transactions"],"maxLength":5000,"type":"string"},"type":"array"},"prefetch":{"items":{"enum":["balances"],"type":"string"},"type":"array"}},"type":"object"},"setup_future_usage":{"enum":["none","off_session","on_session"],"type":"string"},"verification_method":{"enum":["automatic","instant"],"type":"string"}},"type":"object"},"wechat_pay":{"properties":{"app_id":{"maxLength":5000,"type":"string"},"client":{"enum":["android","ios","web"],"type":"string"},"setup_future_usage":{"enum":["none"],"type":"string"}},"required":["client"],"type":"object"}},"type":"object"},"payment_method_types":{"items":{"enum":["acss_debit","affirm","afterpay_clearpay","alipay","au_becs_debit","bacs_debit","bancontact","blik","boleto","card","cashapp","customer_balance","eps","fpx","giropay","grabpay","ideal","klarna","konbini","link","oxxo","p24","paynow","paypal","pix","promptpay","sepa_debit","sofort","us_bank_account","wechat_pay","zip"],"type":"string"},"type":"array"},"phone_number_collection":{"properties":{"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"},"setup_intent_data":{"properties":{"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"on_behalf_of":{"type":"string"}},"type":"object"},"shipping_address_collection":{"properties":{"allowed_countries":{"items":{"enum":["AC","AD","AE","AF","AG","AI","AL","AM","AO","AQ","AR","AT","AU","AW","AX","AZ","BA","BB","BD","BE","BF","BG","BH","BI","BJ","BL","BM","BN","BO","BQ","BR","BS","BT","BV","BW","BY","BZ","CA","CD","CF","CG","CH","CI","CK","CL","CM","CN","CO","CR","CV","CW","CY","CZ","DE","DJ","DK","DM","DO","DZ","EC","EE","EG","EH","ER","ES","ET","FI","FJ","FK","FO","FR","GA","GB","GD","GE","GF","GG","GH","GI","GL","GM","GN","GP","GQ","GR","GS","GT","GU","GW","GY","HK","HN","HR","HT","HU","ID","IE","IL","IM","IN","IO","IQ","IS","IT","JE","JM","JO","JP","KE","KG","KH","KI","KM","KN","KR","KW","KY","KZ","LA","LB","LC","LI","LK","LR","LS","LT","LU","LV","LY","MA","MC","MD","ME","MF","MG","MK","ML","MM","MN","MO","MQ","MR","MS","MT","MU","MV","MW","MX","MY","MZ","NA","NC","NE","NG","NI","NL","NO","NP","NR","NU","NZ","OM","PA","PE","PF","PG","PH","PK","PL","PM","PN","PR","PS","PT","PY","QA","RE","RO","RS","RU","RW","SA","SB","SC","SE","SG","SH","SI","SJ","SK","SL","SM","SN","SO","SR","SS","ST","SV","SX","SZ","TA","TC","TD","TF","TG","TH","TJ","TK","TL","TM","TN","TO","TR","TT","TV","TW","TZ","UA","UG","US","UY","UZ","VA","VC","VE","VG","VN","VU","WF","WS","XK","YE","YT","ZA","ZM","ZW","ZZ"],"type":"string"},"type":"array"}},"required":["allowed_countries"],"type":"object"},"shipping_options":{"items":{"properties":{"shipping_rate":{"maxLength":5000,"type":"string"},"shipping_rate_data":{"properties":{"delivery_estimate":{"properties":{"maximum":{"properties":{"unit":{"enum":["business_day","day","hour","month","week"],"type":"string"},"value":{"type":"integer"}},"required":["unit","value"],"type":"object"},"minimum":{"properties":{"unit":{"enum":["business_day","day","hour","month","week"],"type":"string"},"value":{"type":"integer"}},"required":["unit","value"],"type":"object"}},"type":"object"},"display_name":{"maxLength":100,"type":"string"},"fixed_amount":{"properties":{"amount":{"type":"integer"},"currency":{"type":"string"},"currency_options":{"additionalProperties":{"properties":{"amount":{"type":"integer"},"tax_behavior":{"enum":["exclusive","inclusive","unspecified"],"type":"string"}},"required":["amount"],"type":"object"},"type":"object"}},"required":["amount","currency"],"type":"object"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"tax_behavior":{"enum":["exclusive","inclusive","unspecified"],"type":"string"},"tax_code":{"type":"string"},"type":{"enum":["fixed_amount"],"type":"string"}},"required":["display_name"],"type":"object"}},"type":"object"},"type":"array"},"submit_type":{"enum":["auto","book","donate","pay"],"type":"string"},"subscription_data":{"properties":{"application_fee_percent":{"type":"number"},"billing_cycle_anchor":{"format":"unix-time","type":"integer"},"default_tax_rates":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"metadata":{"additionalProperties":{"type":"string"},"type":"object"},"on_behalf_of":{"type":"string"},"proration_behavior":{"enum":["create_prorations","none"],"type":"string"},"transfer_data":{"properties":{"amount_percent":{"type":"number"},"destination":{"type":"string"}},"required":["destination"],"type":"object"},"trial_end":{"format":"unix-time","type":"integer"},"trial_period_days":{"type":"integer"},"trial_settings":{"properties":{"end_behavior":{"properties":{"missing_payment_method":{"enum":["cancel","create_invoice","pause"],"type":"string"}},"required":["missing_payment_method"],"type":"object"}},"required":["end_behavior"],"type":"object"}},"type":"object"},"success_url":{"maxLength":5000,"type":"string"},"tax_id_collection":{"properties":{"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"}},"required":["success_url"]},"path":{}},
  "GET /v1/checkout/sessions/{session}": {"operationId":"GetCheckoutSessionsSession","params":{"type":"object","properties":{"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"}},"required":[]},"path":{"session":{"maxLength":66,"type":"string"}}},
  "GET /v1/subscriptions": {"operationId":"GetSubscriptions","params":{"type":"object","properties":{"automatic_tax":{"properties":{"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"},"collection_method":{"enum":["charge_automatically","send_invoice"],"type":"string"},"created":{"anyOf":[{"properties":{"gt":{"type":"integer"},"gte":{"type":"integer"},"lt":{"type":"integer"},"lte":{"type":"integer"}},"type":"object"},{"type":"integer"}]},"current_period_end":{"anyOf":[{"properties":{"gt":{"type":"integer"},"gte":{"type":"integer"},"lt":{"type":"integer"},"lte":{"type":"integer"}},"type":"object"},{"type":"integer"}]},"current_period_start":{"anyOf":[{"properties":{"gt":{"type":"integer"},"gte":{"type":"integer"},"lt":{"type":"integer"},"lte":{"type":"integer"}},"type":"object"},{"type":"integer"}]},"customer":{"maxLength":5000,"type":"string"},"ending_before":{"maxLength":5000,"type":"string"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"limit":{"type":"integer"},"price":{"maxLength":5000,"type":"string"},"starting_after":{"maxLength":5000,"type":"string"},"status":{"enum":["active","all","canceled","ended","incomplete","incomplete_expired","past_due","paused","trialing","unpaid"],"type":"string"},"test_clock":{"maxLength":5000,"type":"string"}},"required":[]},"path":{}},
  "GET /v1/subscriptions/{subscription_exposed_id}": {"operationId":"GetSubscriptionsSubscriptionExposedId","params":{"type":"object","properties":{"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"}},"required":[]},"path":{"subscription_exposed_id":{"maxLength":5000,"type":"string"}}},
  "POST /v1/subscriptions/{subscription_exposed_id}": {"operationId":"PostSubscriptionsSubscriptionExposedId","params":{"type":"object","properties":{"add_invoice_items":{"items":{"properties":{"price":{"maxLength":5000,"type":"string"},"price_data":{"properties":{"currency":{"type":"string"},"product":{"maxLength":5000,"type":"string"},"tax_behavior":{"enum":["exclusive","inclusive","unspecified"],"type":"string"},"unit_amount":{"type":"integer"},"unit_amount_decimal":{"format":"decimal","type":"string"}},"required":["currency","product"],"type":"object"},"quantity":{"type":"integer"},"tax_rates":{"anyOf":[{"items":{"maxLength":5000,"type":"string"},"type":"array"},{"enum":[""],"type":"string"}]}},"type":"object"},"type":"array"},"application_fee_percent":{"type":"number"},"automatic_tax":{"properties":{"enabled":{"type":"boolean"}},"required":["enabled"],"type":"object"},"billing_cycle_anchor":{"enum":["now","unchanged"],"maxLength":5000,"type":"string"},"billing_thresholds":{"anyOf":[{"properties":{"amount_gte":{"type":"integer"},"reset_billing_cycle_anchor":{"type":"boolean"}},"type":"object"},{"enum":[""],"type":"string"}]},"cancel_at":{"anyOf":[{"format":"unix-time","type":"integer"},{"enum":[""],"type":"string"}]},"cancel_at_period_end":{"type":"boolean"},"cancellation_details":{"properties":{"comment":{"anyOf":[{"maxLength":5000,"type":"string"},{"enum":[""],"type":"string"}]},"feedback":{"enum":["","customer_service","low_quality","missing_features","other","switched_service","too_complex","too_expensive","unused"],"type":"string"}},"type":"object"},"collection_method":{"enum":["charge_automatically","send_invoice"],"type":"string"},"coupon":{"maxLength":5000,"type":"string"},"days_until_due":{"type":"integer"},"default_payment_method":{"maxLength":5000,"type":"string"},"default_source":{"anyOf":[{"maxLength":5000,"type":"string"},{"enum":[""],"type":"string"}]},"default_tax_rates":{"anyOf":[{"items":{"maxLength":5000,"type":"string"},"type":"array"},{"enum":[""],"type":"string"}]},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"items":{"items":{"properties":{"billing_thresholds":{"anyOf":[{"properties":{"usage_gte":{"type":"integer"}},"required":["usage_gte"],"type":"object"},{"enum":[""],"type":"string"}]},"clear_usage":{"type":"boolean"},"deleted":{"type":"boolean"},"id":{"maxLength":5000,"type":"string"},"metadata":{"anyOf":[{"additionalProperties":{"type":"string"},"type":"object"},{"enum":[""],"type":"string"}]},"price":{"maxLength":5000,"type":"string"},"price_data":{"properties":{"currency":{"type":"string"},"product":{"maxLength":5000,"type":"string"},"recurring":{"properties":{"interval":{"enum":["day","month","week","year"],"type":"string"},"interval_count":{"type":"integer"}},"required":["interval"],"type":"object"},"tax_behavior":{"enum":["exclusive","inclusive","unspecified"],"type":"string"},"unit_amount":{"type":"integer"},"unit_amount_decimal":{"format":"decimal","type":"string"}},"required":["currency","product","recurring"],"type":"object"},"quantity":{"type":"integer"},"tax_rates":{"anyOf":[{"items":{"maxLength":5000,"type":"string"},"type":"array"},{"enum":[""],"type":"string"}]}},"type":"object"},"type":"array"},"metadata":{"anyOf":[{"additionalProperties":{"type":"string"},"type":"object"},{"enum":[""],"type":"string"}]},"off_session":{"type":"boolean"},"on_behalf_of":{"anyOf":[{"type":"string"},{"enum":[""],"type":"string"}]},"pause_collection":{"anyOf":[{"properties":{"behavior":{"enum":["keep_as_draft","mark_uncollectible","void"],"type":"string"},"resumes_at":{"format":"unix-time","type":"integer"}},"required":["behavior"],"type":"object"},{"enum":[""],"type":"string"}]},"payment_behavior":{"enum":["allow_incomplete","default_incomplete","error_if_incomplete","pending_if_incomplete"],"type":"string"},"payment_settings":{"properties":{"payment_method_options":{"properties":{"acss_debit":{"anyOf":[{"properties":{"mandate_options":{"properties":{"transaction_type":{"enum":["business","personal"],"type":"string"}},"type":"object"},"verification_method":{"enum":["automatic","instant","microdeposits"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]},"bancontact":{"anyOf":[{"properties":{"preferred_language":{"enum":["de","en","fr","nl"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]},"card":{"anyOf":[{"properties":{"mandate_options":{"properties":{"amount":{"type":"integer"},"amount_type":{"enum":["fixed","maximum"],"type":"string"}},"type":"object"},"network":{"enum":["amex","cartes_bancaires","diners","discover","eftpos_au","interac","jcb","mastercard","unionpay","unknown","visa"],"maxLength":5000,"type":"string"},"request_three_d_secure":{"enum":["any","automatic"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]},"customer_balance":{"anyOf":[{"properties":{"bank_transfer":{"properties":{"eu_bank_transfer":{"properties":{"country":{"maxLength":5000,"type":"string"}},"required":["country"],"type":"object"},"type":{"type":"string"}},"type":"object"},"funding_type":{"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]},"konbini":{"anyOf":[{"properties":{},"type":"object"},{"enum":[""],"type":"string"}]},"us_bank_account":{"anyOf":[{"properties":{"financial_connections":{"properties":{"permissions":{"items":{"enum":["balances","ownership","payment_method","transactions"],"maxLength":5000,"type":"string"},"type":"array"},"prefetch":{"items":{"enum":["balances"],"type":"string"},"type":"array"}},"type":"object"},"verification_method":{"enum":["automatic","instant","microdeposits"],"type":"string"}},"type":"object"},{"enum":[""],"type":"string"}]}},"type":"object"},"payment_method_types":{"anyOf":[{"items":{"enum":["ach_credit_transfer","ach_debit","acss_debit","au_becs_debit","bacs_debit","bancontact","boleto","card","cashapp","customer_balance","fpx","giropay","grabpay","ideal","konbini","link","paynow","paypal","promptpay","sepa_debit","sofort","us_bank_account","wechat_pay"],"type":"string"},"type":"array"},{"enum":[""],"type":"string"}]},"save_default_payment_method":{"enum":["off","on_subscription"],"type":"string"}},"type":"object"},"pending_invoice_item_interval":{"anyOf":[{"properties":{"interval":{"enum":["day","month","week","year"],"type":"string"},"interval_count":{"type":"integer"}},"required":["interval"],"type":"object"},{"enum":[""],"type":"string"}]},"promotion_code":{"maxLength":5000,"type":"string"},"proration_behavior":{"enum":["always_invoice","create_prorations","none"],"type":"string"},"proration_date":{"format":"unix-time","type":"integer"},"transfer_data":{"anyOf":[{"properties":{"amount_percent":{"type":"number"},"destination":{"type":"string"}},"required":["destination"],"type":"object"},{"enum":[""],"type":"string"}]},"trial_end":{"anyOf":[{"enum":["now"],"maxLength":5000,"type":"string"},{"format":"unix-time","type":"integer"}]},"trial_from_plan":{"type":"boolean"},"trial_settings":{"properties":{"end_behavior":{"properties":{"missing_payment_method":{"enum":["cancel","create_invoice","pause"],"type":"string"}},"required":["missing_payment_method"],"type":"object"}},"required":["end_behavior"],"type":"object"}},"required":[]},"path":{"subscription_exposed_id":{"maxLength":5000,"type":"string"}}},
  "DELETE /v1/subscriptions/{subscription_exposed_id}": {"operationId":"DeleteSubscriptionsSubscriptionExposedId","params":{"type":"object","properties":{"cancellation_details":{"properties":{"comment":{"anyOf":[{"maxLength":5000,"type":"string"},{"enum":[""],"type":"string"}]},"feedback":{"enum":["","customer_service","low_quality","missing_features","other","switched_service","too_complex","too_expensive","unused"],"type":"string"}},"type":"object"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"invoice_now":{"type":"boolean"},"prorate":{"type":"boolean"}},"required":[]},"path":{"subscription_exposed_id":{"maxLength":5000,"type":"string"}}},
  "POST /v1/billing_portal/sessions": {"operationId":"PostBillingPortalSessions","params":{"type":"object","properties":{"configuration":{"maxLength":5000,"type":"string"},"customer":{"maxLength":5000,"type":"string"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"flow_data":{"properties":{"after_completion":{"properties":{"hosted_confirmation":{"properties":{"custom_message":{"maxLength":500,"type":"string"}},"type":"object"},"redirect":{"properties":{"return_url":{"type":"string"}},"required":["return_url"],"type":"object"},"type":{"enum":["hosted_confirmation","portal_homepage","redirect"],"type":"string"}},"required":["type"],"type":"object"},"subscription_cancel":{"properties":{"retention":{"properties":{"coupon_offer":{"properties":{"coupon":{"maxLength":5000,"type":"string"}},"required":["coupon"],"type":"object"},"type":{"enum":["coupon_offer"],"type":"string"}},"required":["coupon_offer","type"],"type":"object"},"subscription":{"maxLength":5000,"type":"string"}},"required":["subscription"],"type":"object"},"subscription_update":{"properties":{"subscription":{"maxLength":5000,"type":"string"}},"required":["subscription"],"type":"object"},"subscription_update_confirm":{"properties":{"discounts":{"items":{"properties":{"coupon":{"maxLength":5000,"type":"string"},"promotion_code":{"maxLength":5000,"type":"string"}},"type":"object"},"type":"array"},"items":{"items":{"properties":{"id":{"maxLength":5000,"type":"string"},"price":{"maxLength":5000,"type":"string"},"quantity":{"type":"integer"}},"required":["id"],"type":"object"},"type":"array"},"subscription":{"maxLength":5000,"type":"string"}},"required":["items","subscription"],"type":"object"},"type":{"enum":["payment_method_update","subscription_cancel","subscription_update","subscription_update_confirm"],"type":"string"}},"required":["type"],"type":"object"},"locale":{"enum":["auto","bg","cs","da","de","el","en","en-AU","en-CA","en-GB","en-IE","en-IN","en-NZ","en-SG","es","es-419","et","fi","fil","fr","fr-CA","hr","hu","id","it","ja","ko","lt","lv","ms","mt","nb","nl","pl","pt","pt-BR","ro","ru","sk","sl","sv","th","tr","vi","zh","zh-HK","zh-TW"],"type":"string"},"on_behalf_of":{"type":"string"},"return_url":{"type":"string"}},"required":["customer"]},"path":{}},
  "GET /v1/prices": {"operationId":"GetPrices","params":{"type":"object","properties":{"active":{"type":"boolean"},"created":{"anyOf":[{"properties":{"gt":{"type":"integer"},"gte":{"type":"integer"},"lt":{"type":"integer"},"lte":{"type":"integer"}},"type":"object"},{"type":"integer"}]},"currency":{"type":"string"},"ending_before":{"maxLength":5000,"type":"string"},"expand":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"limit":{"type":"integer"},"lookup_keys":{"items":{"maxLength":5000,"type":"string"},"type":"array"},"product":{"maxLength":5000,"type":"string"},"recurring":{"properties":{"interval":{"enum":["day","month","week","year"],"type":"string"},"usage_type":{"enum":["licensed","metered"],"type":"string"}},"type":"object"},"starting_after":{"maxLength":5000,"type":"string"},"type":{"enum":["one_time","recurring"],"type":"string"}},"required":[]},"path":{}},
};
