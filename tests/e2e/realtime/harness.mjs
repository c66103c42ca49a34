// Starts a real `parley serve` (the binary under test, PARLEY_BINARY) on a free port with a
// throw-away SQLite database, and gives tests small helpers over its REST API and the official
// socket.io-client.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';

// `options.folder`: use (and keep) this folder for the database and uploads, so that a second
// server started on it finds what the first one stored (crash and restart tests).
export async function startParley(extraEnv = {}, options = {}) {
  const binary = process.env.PARLEY_BINARY;
  if (!binary) throw new Error('PARLEY_BINARY is not set (ctest sets it; see tests/e2e/CMakeLists.txt)');
  const folder = options.folder ?? mkdtempSync(join(tmpdir(), 'parley-e2e-'));
  const ownFolder = options.folder === undefined;
  let crashed = false;
  const logs = [];
  const child = spawn(binary, ['serve'], {
    env: {
      PATH: process.env.PATH,
      ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? '',
      DATABASE_URL: `sqlite:///${folder}/parley.db`,
      UPLOAD_DIR: `${folder}/uploads`,
      PARLEY_WEB_DIR: `${folder}/web`,
      PARLEY_ENV_FILE: '/dev/null',
      PARLEY_PORT: '0',
      PARLEY_THREADS: process.env.PARLEY_E2E_THREADS ?? '2',
      PARLEY_BCRYPT_COST: '4',
      PARLEY_LOGIN_PER_MINUTE: '100000',
      PARLEY_REGISTER_PER_HOUR: '100000',
      PARLEY_GUESTS_PER_HOUR: '100000',
      JWT_SECRET_KEY: 'e2e-jwt-secret-0123456789abcdef0123456789',
      LOG_LEVEL: 'INFO',
      // Caption lag is measured but never degrades the service here: a busy test machine must
      // not change what the other tests receive (the service-level test sets its own target).
      PARLEY_CAPTION_LAG_TARGET_MS: '0',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  // A server that dies during a test says why (sanitizer reports, fatal errors) in the output.
  child.on('exit', (code, signal) => {
    if (code !== 0 && !crashed) process.stderr.write(`parley exited (code ${code}, signal ${signal}):\n${stderr}\n`);
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley did not start: ${stderr}`)), 20000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        logs.push(entry);
        if (entry.event === 'server_listening') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch { /* not JSON: ignore */ }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`parley exited ${code}: ${stderr}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  const sockets = [];
  return {
    base,
    port,
    folder,
    /** Every JSON log line the server printed so far. */
    logs,
    async stop() {
      for (const s of sockets) s.disconnect();
      // Already gone (crashed): nothing to wait for.
      const exited = child.exitCode !== null || child.signalCode !== null;
      const code = exited
        ? child.exitCode
        : await new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
      if (ownFolder) rmSync(folder, { recursive: true, force: true });
      return code;
    },
    /** kill -9: no shutdown at all; the folder stays. */
    async crash() {
      crashed = true;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      for (const s of sockets) s.disconnect();
    },
    async api(path, { method = 'POST', token, body } = {}) {
      const headers = { 'Content-Type': 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    /** A new account (`language`: its preferred language, else the server's default). */
    async register(name, language) {
      const body = { email: `${name}@example.test`, username: name, password: 'a long e2e passphrase' };
      if (language !== undefined) body.preferred_language = language;
      const res = await this.api('/api/register', { body });
      if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.user.id, token: res.body.access_token, name };
    },
    connect(token, options = {}) {
      const socket = io(base, { auth: { token }, reconnection: false, forceNew: true, ...options });
      sockets.push(socket);
      return socket;
    },
  };
}

/** Resolves with the next `event` on `socket` (rejects after `ms`). */
export function next(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    // The first argument: with connection state recovery the server appends an offset to room
    // events, which socket.io-client passes on as an extra trailing argument.
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args[0]); });
  });
}

/** Resolves with the first `event` on `socket` whose payload satisfies `match` (rejects after `ms`). */
export function nextWhere(socket, event, match, ms = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, handler); reject(new Error(`timed out waiting for ${event}`)); }, ms);
    function handler(payload) {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    }
    socket.on(event, handler);
  });
}

/** Emits with an ack and resolves with the ack's first argument (`extra`: more arguments, e.g. binary). */
export function call(socket, event, payload, ms = 5000, ...extra) {
  return socket.timeout(ms).emitWithAck(event, payload, ...extra);
}

/** Resolves true if `event` does NOT arrive within `ms`. */
export function silent(socket, event, ms = 500) {
  return new Promise((resolve) => {
    const handler = () => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { socket.off(event, handler); resolve(true); }, ms);
    socket.once(event, handler);
  });
}
