// Makes the benchmark's audio (deterministic: flite's slt voice + ffmpeg) into a folder and writes
// manifest.json there:
//   utterances: [{wav, text}]  one 16 kHz mono WAV per sentence, silence trimmed, plus
//                              pocketsphinx-testdata's recordings (read speech) when installed
//   stream: {webm, wav, seconds, speech: [{start_ms, end_ms, text}]}  the sentences joined with
//           GAP_MS of silence, encoded like MediaRecorder (webm/opus 32 kbit/s, live, 250 ms
//           clusters), with where each sentence's speech starts and ends
//   warmup: {webm, seconds}    one short sentence, same encoding (creates decoders before timing)
//
//   node bench/speech/prepare_audio.mjs OUT_DIR [GAP_MS]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SENTENCES = [
  'the weather is nice today',
  'please open the window',
  'we will meet in the park after lunch',
  'can you send me the report before five',
  'i think the train leaves at seven thirty',
  'let us talk about the budget for next year',
];
const TESTDATA = '/usr/share/pocketsphinx/test/data';
const LIBRIVOX = {
  'sense_and_sensibility_01_austen_64kb-0880.wav': 'he was not an ill disposed young man',
  'sense_and_sensibility_01_austen_64kb-0890.wav': 'unless to be rather cold hearted and rather selfish is to be ill disposed',
  'sense_and_sensibility_01_austen_64kb-0930.wav': 'he might even have been made amiable himself',
};

const out = process.argv[2];
const gapMs = Number(process.argv[3] ?? 1200);
const LEAD_MS = 500;
if (!out) {
  console.error('usage: prepare_audio.mjs OUT_DIR [GAP_MS]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
const ffmpeg = (...args) => run('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
const seconds = (file) => Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString().trim());
const webmOf = (wav, webm) => ffmpeg('-i', wav, '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', '-live', '1', '-cluster_time_limit', '250', webm);

// Each sentence at 16 kHz with flite's own leading and trailing silence cut (-50 dB), so the
// timeline below knows where speech ends to within a frame.
const TRIM = 'silenceremove=start_periods=1:start_threshold=-50dB,areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse';
const utterances = SENTENCES.map((text, i) => {
  const raw = join(out, `flite${i}.wav`);
  const wav = join(out, `sentence${i}.wav`);
  run('flite', ['-voice', 'slt', '-t', text, '-o', raw]);
  ffmpeg('-i', raw, '-af', `aresample=16000,${TRIM}`, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', wav);
  return { wav, text, source: 'flite slt', seconds: seconds(wav) };
});

// The live stream: lead-in, sentences separated by gapMs of silence, a tail of gapMs.
const speech = [];
let t = LEAD_MS;
const inputs = [];
const filters = [];
utterances.forEach((u, i) => {
  const ms = Math.round(u.seconds * 1000);
  speech.push({ start_ms: t, end_ms: t + ms, text: u.text });
  t += ms + gapMs;
  inputs.push('-i', u.wav);
  filters.push(`[${i}:a]apad=pad_dur=${gapMs / 1000}[a${i}]`);
});
const streamWav = join(out, 'stream.wav');
ffmpeg(...inputs, '-filter_complex',
  `${filters.join(';')};${utterances.map((_, i) => `[a${i}]`).join('')}concat=n=${utterances.length}:v=0:a=1,adelay=${LEAD_MS}:all=1[out]`,
  '-map', '[out]', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', streamWav);
const streamWebm = join(out, 'stream.webm');
webmOf(streamWav, streamWebm);

const warmWav = join(out, 'warmup.wav');
ffmpeg('-i', utterances[1].wav, '-af', `adelay=300:all=1,apad=pad_dur=${gapMs / 1000}`, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', warmWav);
const warmWebm = join(out, 'warmup.webm');
webmOf(warmWav, warmWebm);

// Read speech from pocketsphinx-testdata (harder: ~25-30% WER in engines.md), if installed.
for (const [file, text] of Object.entries(LIBRIVOX)) {
  const path = join(TESTDATA, 'librivox', file);
  if (!existsSync(path)) continue;
  const wav = join(out, file);
  ffmpeg('-i', path, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', wav);
  utterances.push({ wav, text, source: 'pocketsphinx-testdata librivox', seconds: seconds(wav) });
}
if (existsSync(join(TESTDATA, 'goforward.raw'))) {
  const wav = join(out, 'goforward.wav');
  ffmpeg('-f', 's16le', '-ar', '16000', '-ac', '1', '-i', join(TESTDATA, 'goforward.raw'), '-c:a', 'pcm_s16le', wav);
  utterances.push({ wav, text: 'go forward ten meters', source: 'pocketsphinx-testdata goforward', seconds: seconds(wav) });
}

const manifest = {
  utterances,
  stream: { webm: streamWebm, wav: streamWav, seconds: seconds(streamWav), gap_ms: gapMs, speech },
  warmup: { webm: warmWebm, seconds: seconds(warmWav) },
};
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
console.log(join(out, 'manifest.json'));
