#!/usr/bin/env node
// Tables from bench/realtime results: the fan-out ladders, idle connections and churn of each
// server side by side, and the targets Parley is measured against.
//
//   node bench/realtime/report.js bench/realtime/results/<stamp>/results.jsonl [more.jsonl ...]
'use strict';

const fs = require('fs');

const lines = [];
for (const file of process.argv.slice(2)) {
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    try {
      lines.push(JSON.parse(text));
    } catch {
      process.stderr.write(`skipping a line that is not JSON in ${file}\n`);
    }
  }
}
if (!lines.length) {
  process.stderr.write('usage: node report.js results.jsonl...\n');
  process.exit(2);
}

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(digits));
const int = (x) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const meta = lines.find((l) => l.scenario === 'meta');
const floors = lines.filter((l) => l.scenario === 'floor');
const errors = lines.filter((l) => l.error);
const fanout = lines.filter((l) => l.scenario === 'fanout' && !l.error);
const conns = lines.filter((l) => l.scenario === 'conns' && !l.error);
const churn = lines.filter((l) => l.scenario === 'churn' && !l.error);
const servers = [...new Set(lines.filter((l) => l.label).map((l) => l.label))];
const shapeOf = (l) => `${l.params.rooms}x${l.params.members}`;
const shapes = [...new Set(fanout.map(shapeOf))];
const out = [];

if (meta) out.push(`Real-time benchmark ${meta.date} (git ${meta.git}; ${meta.machine}; node ${meta.node}, socket.io ${meta.socket_io}; server CPUs ${meta.server_cpus || 'any'}, generator CPUs ${meta.gen_cpus || 'any'}; Parley threads ${meta.parley_threads}${meta.quick ? '; QUICK' : ''})`);
const floor1 = floors.find((f) => f.batch === 1);
const floor8 = floors.find((f) => f.batch === 8);
if (floors.length) {
  out.push('', 'Loopback floor: sender CPU per delivered ~150-byte frame, ' + floors.map((f) => `batch ${f.batch}: ${fmt(f.sender_cpu_us_per_delivery, 2)} us`).join(', '));
}

if (fanout.length) {
  out.push('', 'Fan-out (one sender per room; a ladder stops at loss or p99 >= its limit)');
  const rows = [];
  for (const shape of shapes) {
    for (const server of servers) {
      for (const l of fanout.filter((x) => shapeOf(x) === shape && x.label === server)) {
        rows.push([
          shape,
          server,
          int(l.offered_deliveries_per_s),
          int(l.delivered_per_s),
          fmt(l.latency_ms.p50, 2),
          fmt(l.latency_ms.p99, 2),
          fmt(l.latency_ms.max, 1),
          int(l.missing),
          fmt(l.window.server_cpu_us_per_delivery, 1),
          fmt(l.window.gen_cpu_us_per_delivery, 1),
          fmt(l.window.server_cpu_cores, 2),
          fmt(l.window.other_busy_cores, 2),
          (l.sustained ? 'yes' : 'NO') + (l.attempt > 1 ? ' (retry)' : ''),
          l.limited_by,
        ]);
      }
    }
  }
  out.push(table(['shape', 'server', 'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'max ms', 'missing', 'srv us/del', 'gen us/del', 'srv cores', 'others', 'sustained', 'limited by'], rows));
}

// Best sustained step per server and shape.
const best = {};
for (const l of fanout) {
  const key = `${l.label} ${shapeOf(l)}`;
  if (l.sustained && (!best[key] || l.delivered_per_s > best[key].delivered_per_s)) best[key] = l;
}
// A step at one offered load; of a repeated step, the sustained attempt (or the lower p99).
const stepAt = (server, shape, offered) =>
  fanout
    .filter((l) => l.label === server && shapeOf(l) === shape && l.offered_deliveries_per_s === offered)
    .reduce((b, l) => (!b || (l.sustained && !b.sustained) || (l.sustained === b.sustained && l.latency_ms.p99 < b.latency_ms.p99) ? l : b), null);

if (fanout.length && servers.length) {
  out.push('', 'Highest sustained fan-out load (p99 under the limit, nothing lost), per shape');
  const rows = [];
  for (const shape of shapes) {
    for (const server of servers) {
      const b = best[`${server} ${shape}`];
      const any = fanout.find((x) => x.label === server && shapeOf(x) === shape);
      rows.push([shape, server, any ? fmt(any.p99_limit_ms, 0) : '-', b ? int(b.delivered_per_s) : 'none', b ? fmt(b.latency_ms.p99, 2) : '-', b ? fmt(b.window.server_cpu_us_per_delivery, 1) : '-']);
    }
  }
  out.push(table(['shape', 'server', 'p99 limit ms', 'deliveries/s', 'p99 ms', 'srv us/del'], rows));
}

if (conns.length) {
  out.push('', 'Idle connections');
  out.push(table(
    ['server', 'connected', 'concurrency', 'connects/s', 'connect p50 ms', 'connect p99 ms', 'RSS KB/conn', 'srv us/connect', 'idle srv cores', 'others'],
    conns.map((l) => [l.label, `${l.connected}/${l.params.conns}`, l.params.connect_concurrency, int(l.connects_per_s), fmt(l.connect_ms.p50, 1), fmt(l.connect_ms.p99, 1), fmt(l.server_rss_per_conn_kb, 2), fmt(l.server_cpu_us_per_connect, 0), fmt(l.idle_phase.server_cpu_cores, 3), fmt(l.connect_phase.other_busy_cores, 2)]),
  ));
}

if (churn.length) {
  out.push('', 'Join/leave churn');
  out.push(table(
    ['server', 'offered joins/s', 'joins/s', 'join p50 ms', 'join p99 ms', 'srv us/join', 'presence ev/s', 'timeouts', 'sustained', 'limited by'],
    churn.map((l) => [l.label, int(l.params.offered_joins_per_s), int(l.joins_per_s), fmt(l.join_latency_ms.p50, 2), fmt(l.join_latency_ms.p99, 2), fmt(l.server_cpu_us_per_join, 0), int(l.presence_events_per_s), l.join_timeouts, l.sustained ? 'yes' : 'NO', l.limited_by]),
  ));
}

// The targets of Parley's issue, when both servers ran.
const P = 'parley';
const N = 'node-socketio';
if (servers.includes(P) && servers.includes(N)) {
  const verdict = (ok) => (ok === null ? 'n/a ' : ok ? 'MET ' : 'MISS');
  const t = [];
  if (floor1) {
    const limit = 1.3 * floor1.sender_cpu_us_per_delivery;
    for (const shape of shapes) {
      const b = best[`${P} ${shape}`];
      const v = b ? b.window.server_cpu_us_per_delivery : null;
      t.push(`${verdict(v === null ? false : v <= limit)} (a) ${shape}: Parley ${fmt(v, 1)} us/delivery at its highest sustained load; limit 1.3 x floor ${fmt(floor1.sender_cpu_us_per_delivery, 2)} = ${fmt(limit, 1)} us`);
    }
    const all = fanout.filter((l) => l.label === P && l.window.server_cpu_us_per_delivery);
    const low = all.reduce((m, l) => (!m || l.window.server_cpu_us_per_delivery < m.window.server_cpu_us_per_delivery ? l : m), null);
    if (low) t.push(`${verdict(low.window.server_cpu_us_per_delivery < floor1.sender_cpu_us_per_delivery)} (a) lowest Parley figure in any step (frames queue at saturation): ${fmt(low.window.server_cpu_us_per_delivery, 1)} us (${shapeOf(low)} at ${int(low.offered_deliveries_per_s)}/s offered); floor batch 1 ${fmt(floor1.sender_cpu_us_per_delivery, 2)} us${floor8 ? `, batch 8 ${fmt(floor8.sender_cpu_us_per_delivery, 2)} us` : ''}`);
  }
  for (const shape of shapes) {
    const p = best[`${P} ${shape}`];
    const n = best[`${N} ${shape}`];
    const pr = p ? p.delivered_per_s : 0;
    const nr = n ? n.delivered_per_s : 0;
    t.push(`${verdict(nr ? pr >= 1.5 * nr : null)} (b) ${shape}: sustained ${int(pr)} vs Node ${int(nr)} deliveries/s = ${nr ? fmt(pr / nr, 2) : '-'}x (target >= 1.5x)`);
    if (n) {
      const same = stepAt(P, shape, n.offered_deliveries_per_s);
      const pp99 = same ? same.latency_ms.p99 : null;
      t.push(`${verdict(pp99 === null ? false : pp99 <= n.latency_ms.p99 / 3)} (b) ${shape}: p99 at Node's highest sustained load (${int(n.offered_deliveries_per_s)}/s): Parley ${same ? fmt(pp99, 2) + ' ms' : 'not reached (ladder ended earlier)'} vs Node ${fmt(n.latency_ms.p99, 2)} ms (target <= a third)`);
    }
  }
  const pc = conns.find((l) => l.label === P);
  const nc = conns.find((l) => l.label === N);
  if (pc && nc) {
    t.push(`${verdict(pc.server_rss_per_conn_kb <= nc.server_rss_per_conn_kb / 5)} (c) RSS per idle connection: Parley ${fmt(pc.server_rss_per_conn_kb, 2)} KB vs Node ${fmt(nc.server_rss_per_conn_kb, 2)} KB = ${fmt(pc.server_rss_per_conn_kb / nc.server_rss_per_conn_kb, 2)}x (target <= 0.2x)`);
    t.push(`${verdict(pc.connects_per_s >= 5 * nc.connects_per_s)} (d) connections accepted: Parley ${int(pc.connects_per_s)}/s vs Node ${int(nc.connects_per_s)}/s = ${fmt(pc.connects_per_s / nc.connects_per_s, 2)}x (target >= 5x)`);
  }
  out.push('', 'Targets', ...t);
}

if (errors.length) out.push('', 'Errors', ...errors.map((e) => `${e.label || ''} ${e.scenario || ''}: ${e.error}`));
const busy = lines.filter((l) => l.window && l.window.other_busy_cores > 0.2).length + conns.filter((l) => l.connect_phase.other_busy_cores > 0.2).length;
if (busy) out.push('', `Note: in ${busy} step(s) other tenants used more than 0.2 cores ("others"); those figures are not comparable, repeat them.`);
process.stdout.write(out.join('\n') + '\n');
