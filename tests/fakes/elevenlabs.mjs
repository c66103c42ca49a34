// Fake ElevenLabs API (text-to-speech, instant voice cloning), written from
// shared/apis/elevenlabs/openapi.subset.json and error-examples.json. Node built-ins only.
//
// Listens on 127.0.0.1, port 0 (or FAKE_ELEVENLABS_PORT), and prints `listening <port>` first.
// API key: FAKE_ELEVENLABS_KEY (default "el-test") in the `xi-api-key` header.
// Control API:
//   GET  /__requests  recorded API requests [{method, path, query, headers, body, body_base64?,
//                     parts?}]
//   POST /__script    {"responses":[{"status":429,"headers":{...},"body":{...}}, {"delay_ms":3000}]}
//                     queues replies consumed in order by the next API requests; an entry
//                     without status only delays the normal answer.
//   POST /__reset     clears recorded requests, the script and cloned voices.
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';

const API_KEY = process.env.FAKE_ELEVENLABS_KEY ?? 'el-test';
const MAX_TEXT = 10000;

const OUTPUT_FORMATS = [
  'mp3_22050_32', 'mp3_44100_32', 'mp3_44100_64', 'mp3_44100_96', 'mp3_44100_128',
  'mp3_44100_192', 'pcm_8000', 'pcm_16000', 'pcm_22050', 'pcm_24000', 'pcm_44100', 'pcm_48000',
  'ulaw_8000', 'alaw_8000', 'opus_48000_32', 'opus_48000_64', 'opus_48000_96', 'opus_48000_128',
  'opus_48000_192',
];
const PREMADE_VOICES = new Set(['21m00Tcm4TlvDq8ikWAM', 'EXAVITQu4vr4xnSDxMaL']);

let requests = [];
let script = [];
const clonedVoices = new Set();
const audioCache = new Map();

function secondsFor(text) {
  return Math.min(10, Math.max(0.5, text.length * 0.06));
}

// A real tone of the requested format: the C++ side decodes or passes it through.
function audioFor(format, text) {
  const seconds = secondsFor(text).toFixed(2);
  const key = `${format}:${seconds}`;
  if (audioCache.has(key)) return audioCache.get(key);
  const [codec, rateText, kbps] = format.split('_');
  const rate = Number(rateText);
  let bytes;
  if (codec === 'pcm') {
    const n = Math.round(rate * Number(seconds));
    bytes = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i += 1) {
      bytes.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / rate)), i * 2);
    }
  } else {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
      `sine=frequency=220:sample_rate=${rate}:duration=${seconds}`, '-ac', '1'];
    if (codec === 'mp3') args.push('-c:a', 'libmp3lame', '-b:a', `${kbps}k`, '-f', 'mp3');
    else if (codec === 'opus') args.push('-c:a', 'libopus', '-b:a', `${kbps}k`, '-f', 'ogg');
    else if (codec === 'ulaw') args.push('-c:a', 'pcm_mulaw', '-f', 'mulaw');
    else args.push('-c:a', 'pcm_alaw', '-f', 'alaw');
    args.push('pipe:1');
    bytes = execFileSync('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 });
  }
  audioCache.set(key, bytes);
  return bytes;
}

function isText(contentType, body) {
  if (/^(application\/json|text\/|application\/x-www-form-urlencoded)/i.test(contentType ?? '')) {
    return true;
  }
  return !/^multipart\//i.test(contentType ?? '') && !body.includes(0) &&
    Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}

function parseMultipart(body, contentType) {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!match) return null;
  const boundary = Buffer.from(`--${match[1] ?? match[2]}`);
  const parts = [];
  let pos = body.indexOf(boundary);
  if (pos < 0) return null;
  while (true) {
    pos += boundary.length;
    if (body.slice(pos, pos + 2).toString() === '--') break;
    pos += 2; // CRLF
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return null;
    const headerText = body.slice(pos, headerEnd).toString('utf8');
    const next = body.indexOf(boundary, headerEnd + 4);
    if (next < 0) return null;
    const content = body.slice(headerEnd + 4, next - 2); // strip CRLF before boundary
    const headers = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const disposition = headers['content-disposition'] ?? '';
    const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1];
    parts.push({
      name, filename, content_type: headers['content-type'], size: content.length, content,
    });
    pos = next;
  }
  return parts;
}

function send(res, status, body, headers = {}) {
  const isBuffer = Buffer.isBuffer(body);
  const payload = isBuffer ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': isBuffer ? headers['content-type'] ?? 'application/octet-stream' : 'application/json',
    'content-length': payload.length,
    ...headers,
  });
  res.end(payload);
}

function validationError(res, loc, msg, type) {
  send(res, 422, { detail: [{ loc, msg, type }] });
}

function handleTts(req, res, url, body, voiceId) {
  const format = url.searchParams.get('output_format') ?? 'mp3_44100_128';
  if (!OUTPUT_FORMATS.includes(format)) {
    return validationError(res, ['query', 'output_format'], 'Input should be a valid output format', 'enum');
  }
  let doc;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return validationError(res, ['body'], 'JSON decode error', 'json_invalid');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return validationError(res, ['body'], 'Input should be a valid dictionary', 'dict_type');
  }
  if (!('text' in doc)) return validationError(res, ['body', 'text'], 'Field required', 'missing');
  if (typeof doc.text !== 'string') {
    return validationError(res, ['body', 'text'], 'Input should be a valid string', 'string_type');
  }
  for (const field of ['model_id', 'language_code']) {
    if (field in doc && doc[field] !== null && typeof doc[field] !== 'string') {
      return validationError(res, ['body', field], 'Input should be a valid string', 'string_type');
    }
  }
  if (doc.voice_settings != null) {
    for (const field of ['stability', 'similarity_boost', 'style', 'speed']) {
      const v = doc.voice_settings[field];
      if (v != null && typeof v !== 'number') {
        return validationError(res, ['body', 'voice_settings', field], 'Input should be a valid number', 'float_type');
      }
    }
  }
  if (doc.text.length > MAX_TEXT) {
    return send(res, 400, { detail: { status: 'max_character_limit_exceeded', message: `Text is too long: ${doc.text.length} characters, the limit is ${MAX_TEXT}.` } });
  }
  if (!PREMADE_VOICES.has(voiceId) && !clonedVoices.has(voiceId)) {
    return send(res, 400, { detail: { status: 'voice_not_found', message: `A voice with voice_id ${voiceId} was not found.` } });
  }
  const contentType = format.startsWith('mp3') ? 'audio/mpeg'
    : format.startsWith('opus') ? 'audio/ogg' : 'application/octet-stream';
  return send(res, 200, audioFor(format, doc.text), { 'content-type': contentType });
}

function handleAddVoice(req, res, parts) {
  if (parts === null) return validationError(res, ['body'], 'Expected multipart/form-data', 'value_error');
  const name = parts.find((p) => p.name === 'name' && p.filename === undefined);
  const files = parts.filter((p) => p.name === 'files' && p.filename !== undefined);
  if (!name) return validationError(res, ['body', 'name'], 'Field required', 'missing');
  if (files.length === 0) return validationError(res, ['body', 'files'], 'Field required', 'missing');
  const noise = parts.find((p) => p.name === 'remove_background_noise');
  if (noise && !['true', 'false'].includes(noise.content.toString())) {
    return validationError(res, ['body', 'remove_background_noise'], 'Input should be a valid boolean', 'bool_parsing');
  }
  const voiceId = crypto.randomBytes(10).toString('base64url');
  clonedVoices.add(voiceId);
  return send(res, 200, { voice_id: voiceId, requires_verification: false });
}

function record(req, url, body) {
  const contentType = req.headers['content-type'];
  const entry = {
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
  };
  if (isText(contentType, body)) {
    entry.body = body.toString('utf8');
  } else {
    entry.body = body.toString('base64');
    entry.body_base64 = true;
  }
  let parts;
  if (/^multipart\/form-data/i.test(contentType ?? '')) {
    parts = parseMultipart(body, contentType);
    entry.parts = (parts ?? []).map((p) => {
      const out = { name: p.name, filename: p.filename, content_type: p.content_type, size: p.size };
      if (p.size <= 4096 && p.filename === undefined) out.text = p.content.toString('utf8');
      if (p.filename !== undefined) out.sha256 = crypto.createHash('sha256').update(p.content).digest('hex');
      return out;
    });
  }
  requests.push(entry);
  return parts ?? null;
}

async function route(req, res, url, body) {
  if (url.pathname === '/__requests' && req.method === 'GET') return send(res, 200, requests);
  if (url.pathname === '/__reset' && req.method === 'POST') {
    requests = [];
    script = [];
    clonedVoices.clear();
    return send(res, 200, { ok: true });
  }
  if (url.pathname === '/__script' && req.method === 'POST') {
    try {
      const doc = JSON.parse(body.toString('utf8'));
      script.push(...(doc.responses ?? []));
      return send(res, 200, { queued: script.length });
    } catch {
      return send(res, 400, { error: 'bad script' });
    }
  }

  const parts = record(req, url, body);
  const scripted = script.shift();
  if (scripted?.delay_ms) await new Promise((r) => setTimeout(r, scripted.delay_ms));
  if (scripted?.status) {
    return send(res, scripted.status, scripted.body ?? {}, scripted.headers ?? {});
  }
  if (res.destroyed) return undefined;

  if (req.headers['xi-api-key'] !== API_KEY) {
    return send(res, 401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
  }
  let m;
  if (req.method === 'POST' && (m = /^\/v1\/text-to-speech\/([^/]+)(\/stream)?$/.exec(url.pathname))) {
    return handleTts(req, res, url, body, decodeURIComponent(m[1]));
  }
  if (req.method === 'POST' && url.pathname === '/v1/voices/add') {
    return handleAddVoice(req, res, parts);
  }
  if (req.method === 'DELETE' && (m = /^\/v1\/voices\/([^/]+)$/.exec(url.pathname))) {
    const id = decodeURIComponent(m[1]);
    if (!clonedVoices.delete(id)) {
      return send(res, 404, { detail: { status: 'voice_not_found', message: `A voice with voice_id ${id} was not found.` } });
    }
    return send(res, 200, { status: 'ok' });
  }
  return send(res, 404, { detail: 'Not Found' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://127.0.0.1');
    route(req, res, url, Buffer.concat(chunks)).catch((err) => {
      if (!res.headersSent) send(res, 500, { detail: { status: 'internal', message: String(err) } });
    });
  });
});
server.listen(Number(process.env.FAKE_ELEVENLABS_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
