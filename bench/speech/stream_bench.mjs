// Live speech through the real server: N speakers (one guest, socket and room each) stream
// webm/opus in real time over socket.io-client, one chunk per ~250 ms cluster (what
// MediaRecorder's timeslice gives), and we time each utterance's final `audio_transcription`.
//
//   node bench/speech/stream_bench.mjs --binary build/release/parley --manifest DIR/manifest.json
//        --speakers 1,2,4,6,8 [--repeat 1] [--stagger-ms 1000] [--max-seconds 120]
//
// For every N a fresh server is started (SQLite and uploads on /dev/shm), every speaker first
// streams a warm-up sentence (so each has its pocketsphinx decoder, 0.3 s to create, before
// timing), then the measured stream (the manifest's sentences with pauses) REPEAT times.
// Per utterance:
//   final_from_chunk_ms   final's arrival − when the chunk holding the end of speech was sent
//   final_from_speech_ms  final's arrival − when speech ended on the speaker's clock (adds the
//                         wait for that chunk to be complete: 0-250 ms)
//   first_partial_ms      first partial's arrival − when speech started
// plus chunk ack round trips and backlog_ms, server CPU (parley and its decoder children) and
// what the rest of the machine used meanwhile. One JSON line per N on stdout; summary on stderr.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const BINARY = args.binary ?? 'build/release/parley';
const MANIFEST = JSON.parse(readFileSync(args.manifest, 'utf8'));
const SPEAKERS = (args.speakers ?? '1,2,4,6,8').split(',').map(Number);
const REPEAT = Number(args.repeat ?? 1);
const STAGGER_MS = Number(args['stagger-ms'] ?? 1000);
const MAX_SECONDS = Number(args['max-seconds'] ?? 120);  // per N, everything included
const P95_LIMIT_MS = Number(args['p95-limit-ms'] ?? 1000);
const EXTRA_ENV = args.env ? Object.fromEntries(args.env.split(',').map((kv) => kv.split('='))) : {};

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const now = () => performance.now();
const pct = (v, p) => {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
};
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

// --- webm clusters --------------------------------------------------------------------------
// Cluster (0x1F43B675) offsets and timecodes: the chunk boundaries of a MediaRecorder stream.
function vint(buf, at) {
  const first = buf[at];
  let len = 1;
  while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
  if (len > 8) return null;
  let value = first & (0xff >> len);
  for (let i = 1; i < len; i++) value = value * 256 + buf[at + i];
  return { len, value };
}
function clustersOf(buf) {
  const out = [];
  for (let i = 0; i + 8 < buf.length; i++) {
    if (buf[i] !== 0x1f || buf[i + 1] !== 0x43 || buf[i + 2] !== 0xb6 || buf[i + 3] !== 0x75) continue;
    const size = vint(buf, i + 4);
    if (!size) continue;
    const tcAt = i + 4 + size.len;
    if (buf[tcAt] !== 0xe7) continue;
    const tcSize = vint(buf, tcAt + 1);
    if (!tcSize || tcSize.value > 8) continue;
    let tc = 0;
    for (let k = 0; k < tcSize.value; k++) tc = tc * 256 + buf[tcAt + 1 + tcSize.len + k];
    if (out.length && tc <= out[out.length - 1].tc) continue;
    out.push({ offset: i, tc });
  }
  return out;
}
// [{bytes, audio_end_ms}]: chunk k is cluster k (chunk 0 also carries the header); it can be
// sent once its audio has been "recorded", at audio_end_ms.
function chunksOf(file, seconds) {
  const buf = readFileSync(file);
  const clusters = clustersOf(buf);
  if (clusters.length < 2) throw new Error(`${file}: no live webm clusters found`);
  return clusters.map((c, k) => ({
    bytes: buf.subarray(k === 0 ? 0 : c.offset, k + 1 < clusters.length ? clusters[k + 1].offset : buf.length),
    audio_end_ms: k + 1 < clusters.length ? clusters[k + 1].tc : Math.round(seconds * 1000),
  }));
}

// --- server ---------------------------------------------------------------------------------
const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function procCpu(pid) {  // seconds: the process plus its reaped children (decoders)
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const tick = 100;
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / tick;
  } catch { return null; }
}
function childrenCpu(pid) {  // live children (decoders still running)
  let total = 0;
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const k of kids) total += procCpu(k) ?? 0;
  } catch { /* gone */ }
  return total;
}
function machineBusy() {  // seconds of busy CPU on the whole machine
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return (f.reduce((a, b) => a + b, 0) - idle) / 100;
}

async function startServer(speakers) {
  const port = await freePort();
  const base = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
  const folder = mkdtempSync(join(base, 'parley-speech-bench-'));
  const child = spawn(BINARY, ['serve'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: `sqlite:///${folder}/bench.db`,
      UPLOAD_DIR: `${folder}/uploads`,
      PARLEY_WEB_DIR: `${folder}/web`,
      PARLEY_ENV_FILE: '/dev/null',
      PARLEY_BIND: '127.0.0.1',
      PARLEY_PORT: String(port),
      PARLEY_THREADS: process.env.PARLEY_THREADS ?? '1',
      PARLEY_GUESTS_PER_HOUR: '1000000',
      PARLEY_SOCKET_EVENTS_PER_SECOND: '1000000',
      PARLEY_MAX_SPEECH_STREAMS: String(Math.max(6, speakers * 2)),
      PARLEY_MAX_SPEECH_STREAMS_PER_USER: '4',
      JWT_SECRET_KEY: 'speech-bench-jwt-secret-0123456789abcdef0123',
      LOG_LEVEL: 'WARNING',
      ...EXTRA_ENV,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`parley exited: ${stderr}`);
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`parley did not start: ${stderr}`); }
    await sleep(100);
  }
  return {
    url, pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      clearTimeout(t);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function api(url, path, token, body) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function speaker(url, i) {
  const guest = await api(url, '/api/guest', null, {});
  const token = guest.access_token;
  const room = (await api(url, '/api/create-chatroom', token, { name: `speech bench ${i}`, is_private: false })).chatroom.id;
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket connect timed out')), 10000);
    socket.once('connect', () => { clearTimeout(t); resolve(); });
    socket.once('connect_error', (e) => { clearTimeout(t); reject(e); });
  });
  const joined = await socket.timeout(5000).emitWithAck('join_room', { room });
  if (!joined.ok) throw new Error(`join_room: ${JSON.stringify(joined)}`);
  const s = { socket, room, events: [], errors: [] };
  socket.on('audio_transcription', (e) => s.events.push({ ...e, at: now() }));
  socket.on('audio_error', (e) => s.errors.push(e));
  return s;
}

// Streams `chunks` in real time from t0; returns per-stream timing.
async function stream(s, id, chunks, t0, deadline) {
  const started = await s.socket.timeout(5000).emitWithAck('audio_stream', { action: 'start', stream_id: id, room: s.room, codec: 'webm-opus', language: 'en-US' });
  if (started.error) throw new Error(`start: ${JSON.stringify(started.error)}`);
  const sent = [];
  const acks = [];
  const backlog = [];
  const pending = [];
  let late = 0;
  for (const c of chunks) {
    const due = t0 + c.audio_end_ms;
    await sleep(due - now());
    if (now() > deadline) throw new Error('time limit reached while streaming');
    const at = now();
    late = Math.max(late, at - due);
    sent.push(at);
    pending.push(s.socket.timeout(10000).emitWithAck('audio_stream', { action: 'chunk', stream_id: id }, c.bytes)
      .then((ack) => {
        acks.push(now() - at);
        if (ack.error) s.errors.push(ack.error); else backlog.push(ack.backlog_ms ?? 0);
      }, (e) => s.errors.push({ code: 'ack_timeout', message: String(e) })));
  }
  await Promise.all(pending);
  const closed = new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), Math.max(1000, deadline - now()));
    const on = (c) => { if (c.stream_id === id) { clearTimeout(t); s.socket.off('audio_stream_closed', on); resolve(true); } };
    s.socket.on('audio_stream_closed', on);
  });
  await s.socket.timeout(5000).emitWithAck('audio_stream', { action: 'stop', stream_id: id });
  if (!(await closed)) s.errors.push({ code: 'not_closed', message: `stream ${id} not closed in time` });
  return { sent, acks, backlog, late };
}

function wer(reference, hypothesis) {
  const w = (x) => x.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = w(reference), h = w(hypothesis);
  let row = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const next = [i];
    for (let j = 1; j <= h.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    row = next;
  }
  return { errors: row[h.length], words: r.length };
}

async function runN(n) {
  const limit = Date.now() + MAX_SECONDS * 1000;
  const server = await startServer(n);
  try {
    const speakers = [];
    for (let i = 0; i < n; i++) speakers.push(await speaker(server.url, i));
    const warm = chunksOf(MANIFEST.warmup.webm, MANIFEST.warmup.seconds);
    const main = chunksOf(MANIFEST.stream.webm, MANIFEST.stream.seconds);
    const deadlineOf = () => now() + Math.max(1000, limit - Date.now());
    // Warm-up: all speakers at once, so each gets its own decoder.
    const tw = now() + 200;
    await Promise.all(speakers.map((s, i) => stream(s, `w${i}`, warm, tw, deadlineOf())));
    await sleep(500);
    for (const s of speakers) { s.events.length = 0; s.errors.length = 0; }

    const cpu0 = procCpu(server.pid) + childrenCpu(server.pid);
    const busy0 = machineBusy();
    const self0 = process.cpuUsage();
    const w0 = now();
    const records = [];
    for (let r = 0; r < REPEAT; r++) {
      const base = now() + 300;
      const runs = await Promise.all(speakers.map(async (s, i) => {
        // Staggered starts: speakers don't all stop talking at the same instant.
        const t0 = base + (n > 1 ? (STAGGER_MS * i) / n : 0);
        s.events.length = 0;
        const timing = await stream(s, `m${r}_${i}`, main, t0, deadlineOf());
        return { s, t0, timing, events: [...s.events] };
      }));
      for (const { t0, timing, events } of runs) {
        const finals = events.filter((e) => e.is_final);
        const used = new Set();
        for (const sp of MANIFEST.stream.speech) {
          // The final whose VAD end is nearest this sentence's end (within 1.5 s).
          let best = null;
          for (const f of finals) {
            if (used.has(f)) continue;
            const d = Math.abs(f.end_ms - sp.end_ms);
            if (d < 1500 && (!best || d < Math.abs(best.end_ms - sp.end_ms))) best = f;
          }
          const chunk = main.findIndex((c) => c.audio_end_ms >= sp.end_ms);
          const partial = events.find((e) => !e.is_final && e.end_ms > sp.start_ms && e.start_ms < sp.end_ms);
          if (!best) { records.push({ missing: true }); continue; }
          used.add(best);
          records.push({
            from_chunk: best.at - timing.sent[chunk],
            from_speech: best.at - (t0 + sp.end_ms),
            first_partial: partial ? partial.at - (t0 + sp.start_ms) : null,
            vad_end_offset: best.end_ms - sp.end_ms,
            ...wer(sp.text, best.text),
          });
        }
        records.acks = (records.acks ?? []).concat(timing.acks);
        records.backlog = (records.backlog ?? []).concat(timing.backlog);
        records.late = Math.max(records.late ?? 0, timing.late);
      }
    }
    const wall = (now() - w0) / 1000;
    const cpu = procCpu(server.pid) + childrenCpu(server.pid) - cpu0;
    const busy = machineBusy() - busy0;
    const self = process.cpuUsage(self0);
    const selfCpu = (self.user + self.system) / 1e6;
    const got = records.filter((x) => !x.missing);
    const errors = speakers.flatMap((s) => s.errors);
    const audio = n * REPEAT * MANIFEST.stream.seconds;
    const fromChunk = got.map((x) => x.from_chunk);
    const line = {
      bench: 'stream', speakers: n, utterances: records.length, finals: got.length,
      final_from_chunk_ms_p50: round(pct(fromChunk, 0.5)), final_from_chunk_ms_p95: round(pct(fromChunk, 0.95)),
      final_from_chunk_ms_max: round(pct(fromChunk, 1)),
      final_from_speech_ms_p50: round(pct(got.map((x) => x.from_speech), 0.5)), final_from_speech_ms_p95: round(pct(got.map((x) => x.from_speech), 0.95)),
      first_partial_ms_p50: round(pct(got.map((x) => x.first_partial).filter((x) => x != null), 0.5)),
      first_partial_ms_p95: round(pct(got.map((x) => x.first_partial).filter((x) => x != null), 0.95)),
      vad_end_offset_ms_p50: round(pct(got.map((x) => x.vad_end_offset), 0.5)),
      wer: round(got.reduce((a, x) => a + x.errors, 0) / Math.max(1, got.reduce((a, x) => a + x.words, 0)), 3),
      ack_ms_p95: round(pct(records.acks ?? [], 0.95)), backlog_ms_max: pct(records.backlog ?? [], 1),
      send_late_ms_max: round(records.late ?? 0),
      server_cores: round(cpu / wall, 2), server_cpu_ms_per_audio_s: round((cpu * 1000) / audio),
      other_busy_cores: round(Math.max(0, (busy - cpu - selfCpu) / wall), 2),
      errors: errors.length, error_codes: [...new Set(errors.map((e) => e.code ?? e.error?.code))],
    };
    line.kept_up = line.finals === line.utterances && errors.length === 0 && line.final_from_chunk_ms_p95 != null && line.final_from_chunk_ms_p95 < P95_LIMIT_MS;
    for (const s of speakers) s.socket.disconnect();
    return line;
  } finally {
    await server.stop();
  }
}

const results = [];
for (const n of SPEAKERS) {
  let line;
  try {
    line = await runN(n);
  } catch (e) {
    line = { bench: 'stream', speakers: n, failed: String(e.message ?? e), kept_up: false };
  }
  results.push(line);
  console.log(JSON.stringify(line));
  if (line.failed) {
    console.error(`N=${n}: failed: ${line.failed}`);
  } else {
    console.error(`N=${n}: finals ${line.finals}/${line.utterances} | end of speech chunk -> final p50 ${line.final_from_chunk_ms_p50} p95 ${line.final_from_chunk_ms_p95} max ${line.final_from_chunk_ms_max} ms | from speech end p50 ${line.final_from_speech_ms_p50} p95 ${line.final_from_speech_ms_p95} | first partial p50 ${line.first_partial_ms_p50} | backlog max ${line.backlog_ms_max} ms | server ${line.server_cores} cores, ${line.server_cpu_ms_per_audio_s} ms CPU/s audio | others ${line.other_busy_cores} | WER ${line.wer} | errors ${line.errors} ${line.error_codes.join(',')} | ${line.kept_up ? 'kept up' : 'DID NOT keep up'}`);
  }
}
const sustained = results.filter((r) => r.kept_up).map((r) => r.speakers);
console.error(`sustained speakers (every final, no errors, p95 < ${P95_LIMIT_MS} ms): ${sustained.length ? Math.max(...sustained) : 0}`);
process.exit(0);
