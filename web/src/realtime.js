// The live connection: socket.io-client to the Parley server with the session's access token.
// It reconnects by itself; a reconnection that Socket.IO could not recover (server restart, long
// gap) re-joins each open room with the last message seq seen, so nothing is missed.
import { io } from 'socket.io-client';

const kAckTimeoutMs = 15_000;

export class Realtime {
  constructor(server, session, api) {
    this.server = server;
    this.session = session;
    this.api = api;
    this.socket = null;
    this.state = 'offline';
    this.stateListeners = new Set();
    this.rejoiners = new Map(); // room id → async () => void, run after an unrecovered reconnect
  }

  /** Connects (once) for the signed-in user. */
  connect() {
    if (this.socket) return this.socket;
    const socket = io(this.server || undefined, {
      // A function: every (re)connection presents the current token, refreshed if need be.
      auth: (callback) => {
        const send = () => callback({ token: this.session.accessToken });
        if (this.session.expiresSoon()) this.api.refresh().finally(send);
        else send();
      },
      transports: ['polling', 'websocket'],
    });
    this.socket = socket;
    this.#setState('connecting');
    socket.on('connect', () => {
      this.#setState('connected');
      if (!socket.recovered) for (const rejoin of this.rejoiners.values()) rejoin();
    });
    socket.on('disconnect', (reason) => {
      // The server ended it on purpose (sign-out elsewhere, account deleted): do not retry blindly.
      if (reason === 'io server disconnect') {
        this.#setState('refused');
        this.api.refresh().then((ok) => { if (ok && this.socket === socket) socket.connect(); });
      } else {
        this.#setState('offline');
      }
    });
    socket.io.on('reconnect_attempt', () => this.#setState('connecting'));
    socket.on('connect_error', () => {
      if (socket.active) {
        this.#setState('offline');
        return;
      }
      // Refused by the server (an expired or revoked token): refresh once, then try again.
      this.#setState('refused');
      this.api.refresh().then((ok) => { if (ok && this.socket === socket) socket.connect(); });
    });
    return socket;
  }

  disconnect() {
    this.socket?.disconnect();
    this.socket = null;
    this.rejoiners.clear();
    this.#setState('offline');
  }

  /** emit with an acknowledgement, as a promise; a refusal ({error}) rejects. */
  async request(event, payload, ...binary) {
    const socket = this.connect();
    let reply;
    try {
      reply = await socket.timeout(kAckTimeoutMs).emitWithAck(event, payload, ...binary);
    } catch {
      throw Object.assign(new Error('No answer from the server.'), { code: 'timeout' });
    }
    if (reply?.error) throw Object.assign(new Error(reply.error.message), reply.error);
    return reply;
  }

  /** Fire and forget (typing). Dropped while disconnected: a typing hint is not worth queueing. */
  volatile(event, payload) {
    if (this.socket?.connected) this.socket.volatile.emit(event, payload);
  }

  on(event, handler) {
    this.connect().on(event, handler);
    return () => this.socket?.off(event, handler);
  }

  onState(listener) {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  #setState(state) {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
