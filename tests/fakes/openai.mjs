// A local fake of the OpenAI HTTP API, written from ../shared/apis/openai/openapi.subset.json:
//   POST /v1/audio/transcriptions  (multipart/form-data; json, text, srt, vtt, verbose_json)
//   POST /v1/chat/completions      (non-streaming, minimal)
// It cannot recognize speech: the transcript is scripted (env FAKE_OPENAI_TRANSCRIPT, or
// POST /__script {"transcript": "...", "detected_language": "spanish"}). What the tests check is
// what Parley sends and how it handles the replies.
//
// Usage: node tests/fakes/openai.mjs [--port N]   (prints "listening <port>" first)
// Env: FAKE_OPENAI_KEY (default "sk-test"), FAKE_OPENAI_TRANSCRIPT, FAKE_OPENAI_COMPLETION.
//
// Control API (no auth):
//   GET  /__requests  recorded API requests: {received_at (ms since the epoch), method, path,
//                     query, headers, body | body_base64,
//                     parts: [{name, filename, content_type, size, text?, data_base64?}]}
//   POST /__script    {"responses": [{"status", "headers", "body", "delay_ms"}...],
//                      "transcript", "detected_language", "completion"}: replies consumed in order
//                     by the next API requests; a reply with only delay_ms delays the normal answer
//   POST /__reset     clears recorded requests, queued replies and scripted defaults
import http from 'node:http';

const API_KEY = process.env.FAKE_OPENAI_KEY ?? 'sk-test';
const MAX_BODY = 26 * 1024 * 1024;  // a little over the API's 25 MB file limit
const MAX_FILE = 25 * 1024 * 1024;
const SMALL_TEXT = 4096;
const FORMATS = ['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'wav', 'webm'];
const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'];
const LANGUAGE_NAMES = {
  af: 'afrikaans', ar: 'arabic', ca: 'catalan', cs: 'czech', da: 'danish', de: 'german',
  el: 'greek', en: 'english', es: 'spanish', fi: 'finnish', fr: 'french', he: 'hebrew',
  hi: 'hindi', hu: 'hungarian', id: 'indonesian', it: 'italian', ja: 'japanese', ko: 'korean',
  nl: 'dutch', no: 'norwegian', pl: 'polish', pt: 'portuguese', ro: 'romanian', ru: 'russian',
  sv: 'swedish', th: 'thai', tr: 'turkish', uk: 'ukrainian', vi: 'vietnamese', zh: 'chinese',
};

const state = { requests: [], queue: [], defaults: {} };
const reset = () => { state.requests = []; state.queue = []; state.defaults = {}; };

function transcript() {
  return state.defaults.transcript ?? process.env.FAKE_OPENAI_TRANSCRIPT ??
      'This is the fake transcript.';
}

function errorBody(message, type, param = null, code = null) {
  return { error: { message, type, param, code } };
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(text);
}

function isText(buffer) {
  const text = buffer.toString('utf8');
  return !text.includes('\uFFFD') && !/[\x00-\x08\x0E-\x1F]/.test(text) ? text : null;
}

// RFC 7578 multipart/form-data, parsed on the raw bytes (the file part is binary).
function parseMultipart(body, contentType) {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!match) return null;
  const delimiter = Buffer.from('--' + (match[1] ?? match[2]).trim());
  const parts = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return null;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;  // closing delimiter
    if (body.subarray(at, at + 2).toString() !== '\r\n') return null;
    at += 2;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0) return null;
    const headers = {};
    for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return null;
    const disposition = headers['content-disposition'] ?? '';
    const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1] ?? null;
    if (name === undefined) return null;
    parts.push({ name, filename, content_type: headers['content-type'] ?? null,
                 data: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
}

// {sample_rate, channels, bits, duration} of a PCM WAV file, or null.
function wavInfo(data) {
  if (data.length < 44 || data.toString('latin1', 0, 4) !== 'RIFF' ||
      data.toString('latin1', 8, 12) !== 'WAVE') return null;
  let at = 12;
  let fmt = null;
  while (at + 8 <= data.length) {
    const id = data.toString('latin1', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    if (id === 'fmt ' && size >= 16) {
      fmt = { format: data.readUInt16LE(at + 8), channels: data.readUInt16LE(at + 10),
              sample_rate: data.readUInt32LE(at + 12), bits: data.readUInt16LE(at + 22) };
    } else if (id === 'data' && fmt) {
      const bytes = Math.min(size, data.length - at - 8);
      return { ...fmt, data_bytes: bytes,
               duration: bytes / (fmt.sample_rate * fmt.channels * (fmt.bits / 8)) };
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

function record(req, body, parts) {
  const url = new URL(req.url, 'http://fake');
  const entry = {
    received_at: Date.now(),  // ms since the epoch: lets tests measure request rates
    method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const text = isText(body);
  if (text !== null) entry.body = text; else { entry.body = body.toString('base64'); entry.body_base64 = true; }
  if (parts) {
    entry.parts = parts.map((p) => {
      const out = { name: p.name, filename: p.filename, content_type: p.content_type, size: p.data.length };
      const t = p.data.length <= SMALL_TEXT ? isText(p.data) : null;
      if (t !== null && p.filename === null) out.text = t;
      else out.data_base64 = p.data.toString('base64');
      return out;
    });
  }
  state.requests.push(entry);
}

function authorized(req, res) {
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ')) {
    send(res, 401, errorBody("You didn't provide an API key. You need to provide your API key in " +
        'an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).',
        'invalid_request_error'));
    return false;
  }
  const key = auth.slice(7);
  if (key !== API_KEY) {
    const shown = key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : key;
    send(res, 401, errorBody(`Incorrect API key provided: ${shown}. You can find your API key at ` +
        'https://platform.openai.com/account/api-keys.', 'invalid_request_error', null,
        'invalid_api_key'));
    return false;
  }
  return true;
}

function transcription(req, res, body, parts) {
  if (!authorized(req, res)) return;
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '') || parts === null) {
    return send(res, 400, errorBody('Could not parse multipart form', 'invalid_request_error'));
  }
  const field = (name) => parts.find((p) => p.name === name && p.filename === null)?.data.toString('utf8');
  const file = parts.find((p) => p.name === 'file');
  if (!file || file.filename === null) {
    return send(res, 400, errorBody("1 validation error for Request\nbody -> file\n  field required " +
        '(type=value_error.missing)', 'invalid_request_error', 'file'));
  }
  const model = field('model');
  if (model === undefined) {
    return send(res, 400, errorBody('you must provide a model parameter', 'invalid_request_error', 'model'));
  }
  if (!['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'gpt-transcribe',
        'gpt-4o-mini-transcribe-2025-12-15', 'gpt-4o-transcribe-diarize'].includes(model) &&
      !(process.env.FAKE_OPENAI_MODELS ?? '').split(',').includes(model)) {
    return send(res, 404, errorBody(`The model \`${model}\` does not exist or you do not have access to it.`,
        'invalid_request_error', null, 'model_not_found'));
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.filename)?.[1]?.toLowerCase();
  if (!FORMATS.includes(extension)) {
    return send(res, 400, errorBody(`Invalid file format. Supported formats: ${JSON.stringify(FORMATS)}`,
        'invalid_request_error', null, 'invalid_value'));
  }
  if (file.data.length > MAX_FILE) {
    return send(res, 413, errorBody('Maximum content size limit (26214400) exceeded.',
        'invalid_request_error'));
  }
  const format = field('response_format') ?? 'json';
  if (!RESPONSE_FORMATS.includes(format)) {
    return send(res, 400, errorBody(`'${format}' is not one of ${JSON.stringify(RESPONSE_FORMATS)} - 'response_format'`,
        'invalid_request_error', 'response_format'));
  }
  const language = field('language');
  if (language !== undefined && !/^[a-z]{2}$/.test(language)) {
    return send(res, 400, errorBody(`Invalid language '${language}'. Language parameter must be ` +
        'specified in ISO-639-1 format.', 'invalid_request_error', 'language', 'invalid_language_format'));
  }
  let duration = null;
  if (extension === 'wav') {
    const info = wavInfo(file.data);
    if (info === null) {
      return send(res, 400, errorBody('The audio file could not be decoded or its format is not ' +
          'supported.', 'invalid_request_error', null, 'invalid_value'));
    }
    duration = info.duration;
    if (duration < 0.1) {
      return send(res, 400, errorBody('Audio file is too short. Minimum audio length is 0.1 seconds.',
          'invalid_request_error', 'file', 'audio_too_short'));
    }
  }
  const text = transcript();
  const seconds = duration ?? 1;
  switch (format) {
    case 'text': return send(res, 200, text + '\n');
    case 'srt': return send(res, 200, `1\n00:00:00,000 --> ${srtTime(seconds, ',')}\n${text}\n\n`);
    case 'vtt': return send(res, 200, `WEBVTT\n\n00:00:00.000 --> ${srtTime(seconds, '.')}\n${text}\n\n`);
    case 'verbose_json': {
      const detected = state.defaults.detected_language ?? LANGUAGE_NAMES[language] ?? 'english';
      return send(res, 200, {
        task: 'transcribe', language: detected, duration: seconds, text,
        segments: [{ id: 0, seek: 0, start: 0, end: seconds, text: ' ' + text, tokens: [50364, 50530],
                     temperature: 0, avg_logprob: -0.25, compression_ratio: 1.2, no_speech_prob: 0.01 }],
        usage: { type: 'duration', seconds: Math.ceil(seconds) },
      });
    }
    default:
      return send(res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(seconds) } });
  }
}

function srtTime(seconds, separator) {
  const ms = Math.round(seconds * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:` +
      `${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

// Roughly what the API reports: about 4 bytes a token, plus a few per message.
function chatUsage(messages, content) {
  const tokens = (text) => Math.ceil(Buffer.byteLength(typeof text === 'string' ? text : JSON.stringify(text ?? '')) / 4);
  const prompt = messages.reduce((n, m) => n + 4 + tokens(m.content), 3);
  const completion = tokens(content);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chatCompletion(req, res, body) {
  if (!authorized(req, res)) return;
  let request;
  try { request = JSON.parse(body.toString('utf8')); } catch {
    return send(res, 400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error'));
  }
  if (typeof request?.model !== 'string') {
    return send(res, 400, errorBody('you must provide a model parameter', 'invalid_request_error', 'model'));
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return send(res, 400, errorBody("Missing required parameter: 'messages'.", 'invalid_request_error',
        'messages', 'missing_required_parameter'));
  }
  const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];
  for (const [i, m] of request.messages.entries()) {
    if (typeof m !== 'object' || m === null || !ROLES.includes(m.role)) {
      return send(res, 400, errorBody(`Invalid value for 'messages[${i}].role'.`, 'invalid_request_error',
          `messages[${i}].role`, 'invalid_value'));
    }
    if (m.role !== 'assistant' && typeof m.content !== 'string' && !Array.isArray(m.content)) {
      return send(res, 400, errorBody(`Invalid type for 'messages[${i}].content'.`, 'invalid_request_error',
          `messages[${i}].content`, 'invalid_type'));
    }
  }
  if (request.temperature !== undefined && request.temperature !== null &&
      (typeof request.temperature !== 'number' || request.temperature < 0 || request.temperature > 2)) {
    return send(res, 400, errorBody(`Invalid 'temperature': must be between 0 and 2.`, 'invalid_request_error',
        'temperature', 'invalid_value'));
  }
  if (request.stream === true) {
    return send(res, 400, errorBody('This fake does not stream chat completions.', 'invalid_request_error', 'stream'));
  }
  const content = state.defaults.completion ?? process.env.FAKE_OPENAI_COMPLETION ?? 'This is the fake completion.';
  send(res, 200, {
    id: `chatcmpl-fake${state.requests.length}`, object: 'chat.completion',
    created: Math.floor(Date.now() / 1000), model: request.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] },
                logprobs: null, finish_reason: 'stop' }],
    usage: chatUsage(request.messages, content),
  });
}

const routes = {
  'POST /v1/audio/transcriptions': transcription,
  'POST /v1/chat/completions': chatCompletion,
};

// Requests are recorded when they arrive, before any scripted delay, so a request the client
// gave up on is not recorded late (after the next test's /__reset).
async function api(handler, req, res, body) {
  const parts = /^multipart\//i.test(req.headers['content-type'] ?? '')
    ? parseMultipart(body, req.headers['content-type']) : null;
  record(req, body, parts);
  const scripted = state.queue.shift();
  if (scripted?.delay_ms) await new Promise((r) => setTimeout(r, scripted.delay_ms));
  if (res.destroyed) return;  // the client gave up
  if (scripted?.status) {
    return send(res, scripted.status, scripted.body ?? errorBody('Scripted error', 'server_error'),
        scripted.headers ?? {});
  }
  handler(req, res, body, parts);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      send(res, 413, errorBody('Maximum content size limit (26214400) exceeded.', 'invalid_request_error'));
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = new URL(req.url, 'http://fake').pathname;
    const key = `${req.method} ${path}`;
    if (key === 'GET /__requests') return send(res, 200, state.requests);
    if (key === 'POST /__reset') { reset(); return send(res, 200, { ok: true }); }
    if (key === 'POST /__script') {
      let script;
      try { script = JSON.parse(body.toString('utf8') || '{}'); } catch { return send(res, 400, { error: 'bad JSON' }); }
      if (Array.isArray(script.responses)) state.queue.push(...script.responses);
      for (const k of ['transcript', 'detected_language', 'completion']) {
        if (k in script) state.defaults[k] = script[k];
      }
      return send(res, 200, { queued: state.queue.length });
    }
    const handler = routes[key];
    if (!handler) {
      record(req, body, null);
      const known = Object.keys(routes).some((r) => r.endsWith(' ' + path));
      return known
        ? send(res, 405, errorBody(`Method ${req.method} not allowed on ${path}`, 'invalid_request_error'))
        : send(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error'));
    }
    api(handler, req, res, body).catch((e) => send(res, 500, errorBody(String(e), 'server_error')));
  });
});

const portArg = process.argv.indexOf('--port');
server.listen(portArg > 0 ? Number(process.argv[portArg + 1]) : 0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
