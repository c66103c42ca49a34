// Helpers for the speech tests: real speech made with flite + ffmpeg, word error rate, chunking,
// multipart uploads and ffprobe.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

/** Word error rate: word-level Levenshtein distance / reference length (lower case, no punctuation). */
export function wordErrorRate(reference, hypothesis) {
  const words = (s) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = words(reference);
  const h = words(hypothesis);
  let row = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const next = [i];
    for (let j = 1; j <= h.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return r.length === 0 ? (h.length === 0 ? 0 : 1) : row[h.length] / r.length;
}

function run(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

/**
 * Speaks each sentence with flite's slt voice, joins them with a second of silence (half a
 * second before and after), and encodes the result as a browser would send it (webm/opus, live
 * style: no cues, small clusters) and as mp3. Also makes a longer reference recording for voice
 * profiles. Returns file paths and the duration in seconds.
 */
export function makeSpeech(folder, sentences) {
  const parts = sentences.map((sentence, i) => {
    const wav = join(folder, `sentence${i}.wav`);
    run('flite', ['-voice', 'slt', '-t', sentence, '-o', wav]);
    return wav;
  });
  const inputs = [];
  const filters = [];
  parts.forEach((file, i) => { inputs.push('-i', file); filters.push(`[${i}:a]aresample=16000,apad=pad_dur=1[a${i}]`); });
  const joined = join(folder, 'speech.wav');
  run('ffmpeg', ['-loglevel', 'error', '-y', ...inputs, '-filter_complex',
    `${filters.join(';')};${parts.map((_, i) => `[a${i}]`).join('')}concat=n=${parts.length}:v=0:a=1,adelay=500:all=1,apad=pad_dur=0.5[out]`,
    '-map', '[out]', '-ac', '1', '-ar', '16000', joined]);
  const webm = join(folder, 'speech.webm');
  run('ffmpeg', ['-loglevel', 'error', '-y', '-i', joined, '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', '-live', '1', '-cluster_time_limit', '250', webm]);
  const mp3 = join(folder, 'speech.mp3');
  run('ffmpeg', ['-loglevel', 'error', '-y', '-i', joined, '-c:a', 'libmp3lame', '-b:a', '64k', mp3]);
  const reference = join(folder, 'reference.wav');
  run('flite', ['-voice', 'slt', '-t', 'My voice is the voice of a person who reads the news every evening, calmly and clearly, for everyone who listens.', '-o', reference]);
  const seconds = Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', joined]).toString().trim());
  return { wav: joined, webm, mp3, reference, seconds };
}

export function chunksOf(buffer, size) {
  const out = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

/** Every audio_transcription the socket receives, in order (a live array). */
export function collectTranscriptions(socket) {
  const events = [];
  socket.on('audio_transcription', (e) => events.push(e));
  return events;
}

/** POSTs multipart/form-data with text `fields` and one optional `file` {name, filename, type, data}. */
export async function uploadForm(url, token, fields, file) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.name, new Blob([file.data], { type: file.type }), file.filename);
  const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: res.status, body };
}

export function ffprobe(file) {
  const out = run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file]).toString();
  const info = JSON.parse(out);
  return { codec: info.streams[0].codec_name, duration: Number(info.format.duration) };
}

/**
 * Declares a multipart body of `bytes` bytes but sends only the headers, and resolves with the
 * response status: a limit enforced from Content-Length answers before any body byte is read.
 */
export function postStatus(url, token, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': String(bytes) },
    }, (res) => { res.resume(); resolve(res.statusCode); req.destroy(); });
    req.on('error', (e) => { if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e); });
    req.setTimeout(10000, () => { req.destroy(); reject(new Error('no answer before the body was sent')); });
    req.flushHeaders();
  });
}
