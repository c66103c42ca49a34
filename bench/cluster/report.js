#!/usr/bin/env node
// The side-by-side tables of bench/cluster/run.sh from its results.jsonl:
//   node bench/cluster/report.js bench/cluster/results/<stamp>/results.jsonl

import fs from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: report.js results.jsonl');
  process.exit(2);
}
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const CONFIG = {
  A: '1 process, PostgreSQL',
  B: '1 process, PostgreSQL + Redis',
  C: '2 processes, PostgreSQL + Redis',
  D: '2 processes (2nd on the generator core), PostgreSQL + Redis',
};
const fmt = (x, d = 0) => (x == null || Number.isNaN(x) ? '-' : Number(x).toLocaleString('en-US', {
  minimumFractionDigits: d, maximumFractionDigits: d}));
const cores = (win, name) => win && win.watched && win.watched[name] ? win.watched[name].cpu_cores : null;
// Every Parley process of a step, summed: their CPU per delivery in the window.
function serverCores(win) {
  if (!win || !win.watched) return null;
  return Object.entries(win.watched).filter(([k]) => k.startsWith('parley'))
    .reduce((s, [, v]) => s + v.cpu_cores, 0);
}
// Other tenants: the machine's busy cores minus the generator and every measured process.
function others(win) {
  if (!win || win.machine_busy_cores == null) return null;
  const watched = Object.values(win.watched || {}).reduce((s, v) => s + v.cpu_cores, 0);
  return Math.max(0, win.machine_busy_cores - win.gen_cpu_cores - watched);
}
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
    .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const meta = lines.find((l) => l.scenario === 'meta');
if (meta) {
  console.log(`bench/cluster ${meta.date} git ${meta.git}; ${meta.machine}; ${meta.redis}; ${meta.postgres}`);
  console.log(`pinning: parley 1 on CPU ${meta.server_cpus || 'any'}, parley 2 (C) on CPU ` +
    `${meta.server2_cpus || 'any'}, generator on ${meta.gen_cpus || 'any'}, Redis + PostgreSQL on ` +
    `${meta.aux_cpus || 'any'}; PARLEY_THREADS=${meta.parley_threads}${meta.quick ? '; QUICK' : ''}`);
}
for (const [k, v] of Object.entries(CONFIG)) {
  if (lines.some((l) => l.label === k)) console.log(`  ${k}: ${v}`);
}

const steps = lines.filter((l) => l.scenario === 'fanout' && l.step);
const errors = lines.filter((l) => l.error);
// The deciding attempt of each step: the last one (a sustained attempt ends the retries).
const byKey = new Map();
for (const l of steps) {
  const shape = `${l.params.rooms}x${l.params.members}`;
  byKey.set(`${shape}|${l.label}|${l.step}`, {shape, ...l});
}
const shapes = [...new Set([...byKey.values()].map((l) => l.shape))];
for (const shape of shapes) {
  const rows = [...byKey.values()].filter((l) => l.shape === shape)
    .sort((a, b) => a.offered_deliveries_per_s - b.offered_deliveries_per_s || a.label.localeCompare(b.label));
  console.log(`\nFan-out ${shape} (one sender per room; C: senders on process 1, receivers split)`);
  const header = ['offered/s', 'cfg', 'delivered/s', 'p50 ms', 'p99 ms', 'via-Redis p50/p99',
    'missing', 'parley1', 'parley2', 'redis', 'postgres', 'gen', 'servers µs/dlv', 'others', 'ok'];
  const out = rows.map((l) => {
    const w = l.window || {};
    const server = serverCores(w);
    const remote = l.by_target && l.by_target[1] ? l.by_target[1].latency_ms : null;
    return [fmt(l.offered_deliveries_per_s), l.label, fmt(l.delivered_per_s), fmt(l.latency_ms.p50, 2),
      fmt(l.latency_ms.p99, 2), remote ? `${fmt(remote.p50, 2)}/${fmt(remote.p99, 2)}` : '-',
      l.missing, fmt(cores(w, 'parley1'), 2), fmt(cores(w, 'parley2'), 2), fmt(cores(w, 'redis'), 3),
      fmt(cores(w, 'postgres'), 2), fmt(w.gen_cpu_cores, 2),
      server != null && l.delivered_per_s ? fmt((server * 1e6) / l.delivered_per_s, 1) : '-',
      fmt(others(w), 2), l.sustained ? 'yes' : `NO (${l.limited_by})`];
  });
  console.log(table(header, out));
  // Highest sustained step per configuration.
  console.log('highest sustained:');
  for (const cfg of Object.keys(CONFIG)) {
    const mine = rows.filter((l) => l.label === cfg);
    if (!mine.length) continue;
    const ok = mine.filter((l) => l.sustained).pop();
    if (!ok) {
      console.log(`  ${cfg}: none`);
      continue;
    }
    const server = serverCores(ok.window);
    const split = ok.by_target ? '; per process: ' + ok.by_target.map((t, i) =>
      `${i + 1}: ${t.delivered}/${t.expected} p99 ${fmt(t.latency_ms.p99, 2)} ms`).join(', ') : '';
    console.log(`  ${cfg}: ${fmt(ok.delivered_per_s)} deliveries/s, p50 ${fmt(ok.latency_ms.p50, 2)} ` +
      `p99 ${fmt(ok.latency_ms.p99, 2)} ms, servers ${fmt(server, 2)} cores ` +
      `(${fmt((server * 1e6) / ok.delivered_per_s, 1)} µs/delivery)${split}`);
  }
}
const missing = steps.filter((l) => l.missing > 0 || l.out_of_order > 0 || l.disconnects > 0 || l.bad_payload > 0);
if (missing.length) {
  console.log('\nsteps with losses, reordering, disconnects or bad payloads:');
  for (const l of missing) {
    console.log(`  ${l.label} ${l.params.rooms}x${l.params.members} @${fmt(l.offered_deliveries_per_s)}/s ` +
      `attempt ${l.attempt}: missing ${l.missing}, out of order ${l.out_of_order}, disconnects ${l.disconnects}` +
      `${l.by_target ? ' (per process missing: ' + l.by_target.map((t) => t.missing).join('/') + ')' : ''}`);
  }
}
for (const e of errors) console.log(`error: ${e.label || ''} ${e.error}`);
const logs = lines.filter((l) => l.scenario === 'server_log');
if (logs.length) {
  console.log('\nserver log lines at WARNING or above (during the run / while stopping):');
  for (const l of logs) {
    const events = Object.entries(l.events_during_run || {}).map(([k, n]) => `${k} x${n}`).join(', ');
    console.log(`  ${l.file.replace(/\.log$/, '')}: ${l.lines_during_run}${events ? ` (${events})` : ''}` +
      ` / ${l.lines_at_shutdown}`);
  }
}
