// Starts one of the local fakes of internet services (tests/fakes/*.mjs) as a child process on
// 127.0.0.1 and gives tests its control API.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export async function startFake(script) {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 10000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)/.exec(line);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    stop: () => child.kill(),
    requests: async () => (await fetch(base + '/__requests')).json(),
    script: (body) => fetch(base + '/__script', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    reset: () => fetch(base + '/__reset', { method: 'POST' }),
  };
}
