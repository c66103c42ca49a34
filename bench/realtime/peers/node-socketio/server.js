#!/usr/bin/env node
// Reference peer for bench/realtime: Parley's real-time chat protocol on the official `socket.io`
// 4.8 server, so that the compiled load generator drives both servers with the same bytes.
// In memory only: no database, no persistence (Parley stores every message before delivering
// it; this peer does not, which favours it).
//
//   node server.js [port] [host]        (or PORT / HOST env; default 127.0.0.1:5000)
//   NODE_RECOVERY=1 node server.js      socket.io's connection state recovery on: every room
//                                       broadcast then carries an offset as its last argument,
//                                       like Parley's (off by default, as in socket.io)
//
// REST setup (JSON bodies; just what the generator needs, same shapes as Parley's):
//   POST /api/guest            -> 201 {access_token, refresh_token, token_type, expires_in, user}
//   POST /api/create-chatroom  {name, is_private}  (Bearer) -> 201 {chatroom: {id, ...}}
//   POST /api/join-chatroom    {chatroom_id}       (Bearer) -> 200 {chatroom: {...}, role}
// Socket.IO (CONNECT auth {token}):
//   join_room    {room}                 members only; ack {ok, room, online}; user_joined
//                                       {room, user} to the others in the room
//   leave_room   {room}                 ack {ok, room}; user_left {room, user} to the rest
//   send_message {room, text, client_id} ack {id, created_at}; then new_message
//                                       {id, room, seq, text, kind, created_at, language,
//                                        sender, client_id} to every socket in the room,
//                                       the sender included
'use strict';

const crypto = require('crypto');
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || process.env.PORT || 5000);
const host = process.argv[3] || process.env.HOST || '127.0.0.1';
const recovery = process.env.NODE_RECOVERY === '1';

// Parley's limits, so that both servers refuse the same input.
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TEXT_BYTES = 4096;
const CLIENT_ID = /^[\x21-\x7e]{1,64}$/;

const users = new Map(); // access token -> user
const rooms = new Map(); // room id -> { id, name, is_private, created_at, creator_id, members: Set<user id>, seq }
let nextUserId = 1;
let nextRoomId = 1;
let nextMessageId = 1;

const publicUser = (u) => ({ id: u.id, username: u.username, avatar_url: null });
const roomJson = (r) => ({
  id: r.id,
  name: r.name,
  is_private: r.is_private,
  member_count: r.members.size,
  created_at: r.created_at,
  creator_id: r.creator_id,
  photo_url: null,
});
const errorBody = (code, message) => ({ error: { code, message } });

// ---- REST ------------------------------------------------------------------------------------
function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function bearerUser(req) {
  const h = req.headers.authorization || '';
  return h.startsWith('Bearer ') ? users.get(h.slice(7)) : undefined;
}

const routes = {
  '/api/guest': (req, body) => {
    const id = nextUserId++;
    const user = {
      id,
      username: `guest-${crypto.randomBytes(4).toString('hex')}`,
      is_guest: true,
      preferred_language: typeof body.preferred_language === 'string' ? body.preferred_language : 'en',
      plan: 'free',
      created_at: new Date().toISOString(),
      avatar_url: null,
      email: null,
    };
    const token = crypto.randomBytes(32).toString('base64url');
    users.set(token, user);
    return [201, { access_token: token, refresh_token: crypto.randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 900, user }];
  },
  '/api/create-chatroom': (req, body, user) => {
    if (!user) return [401, errorBody('unauthorized', 'authentication required')];
    if (typeof body.name !== 'string' || !body.name.trim()) return [422, errorBody('validation_failed', "field 'name' is required")];
    const room = {
      id: nextRoomId++,
      name: body.name,
      is_private: body.is_private === true,
      created_at: new Date().toISOString(),
      creator_id: user.id,
      members: new Set([user.id]),
      seq: 0,
    };
    rooms.set(room.id, room);
    return [201, { chatroom: roomJson(room) }];
  },
  '/api/join-chatroom': (req, body, user) => {
    if (!user) return [401, errorBody('unauthorized', 'authentication required')];
    const room = rooms.get(Number(body.chatroom_id));
    if (!room) return [404, errorBody('not_found', 'no such chat room')];
    room.members.add(user.id);
    return [200, { chatroom: roomJson(room), role: room.creator_id === user.id ? 'owner' : 'member' }];
  },
};

const httpServer = http.createServer((req, res) => {
  // socket.io answers /socket.io/ itself; everything else ends up here
  const route = req.method === 'POST' ? routes[req.url] : undefined;
  if (!route) return reply(res, 404, errorBody('not_found', 'no such route'));
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    let body = {};
    if (size > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(res, 400, errorBody('bad_request', 'malformed JSON'));
      }
    }
    if (body === null || typeof body !== 'object') return reply(res, 400, errorBody('bad_request', 'expected a JSON object'));
    const [status, out] = route(req, body, bearerUser(req));
    reply(res, status, out);
  });
});

// ---- Socket.IO -------------------------------------------------------------------------------
const io = new Server(httpServer, {
  serveClient: false,
  // Parley's EngineIoOptions: ping every 25 s, 20 s to answer, 1 MB largest message.
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  perMessageDeflate: false, // socket.io's default; stated so that both servers are uncompressed
  httpCompression: false,
  ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } } : {}),
});

io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  const user = typeof auth.token === 'string' ? users.get(auth.token) : undefined;
  if (!user) return next(new Error('invalid or expired token'));
  socket.data.user = publicUser(user);
  next();
});

// `{"room": 12}` or `{"room": "12"}` -> 12, as Parley accepts both.
function roomOf(data) {
  if (!data || typeof data !== 'object') return null;
  const id = typeof data.room === 'number' ? data.room : typeof data.room === 'string' ? Number(data.room) : NaN;
  return Number.isInteger(id) && id > 0 ? id : null;
}
const channel = (id) => `room:${id}`;

function refuse(socket, ack, room, code, message) {
  const error = { code, message };
  socket.emit('room_error', room === null ? { error } : { error, room });
  if (typeof ack === 'function') ack({ error });
}

io.on('connection', (socket) => {
  const user = socket.data.user;

  socket.on('join_room', (data, ack) => {
    const id = roomOf(data);
    if (id === null) return refuse(socket, ack, null, 'validation_failed', 'expected {"room": <chatroom id>}');
    const room = rooms.get(id);
    if (!room || !room.members.has(user.id)) return refuse(socket, ack, id, 'forbidden', 'join the chat room first (or you are banned)');
    socket.join(channel(id));
    socket.to(channel(id)).emit('user_joined', { room: id, user });
    if (typeof ack !== 'function') return;
    // Presence: who is in the room now (each user once, however many connections they have).
    const online = [];
    const seen = new Set();
    for (const sid of io.sockets.adapter.rooms.get(channel(id)) || []) {
      const other = io.sockets.sockets.get(sid);
      if (!other || seen.has(other.data.user.id)) continue;
      seen.add(other.data.user.id);
      online.push(other.data.user);
    }
    ack({ ok: true, room: id, online });
  });

  socket.on('leave_room', (data, ack) => {
    const id = roomOf(data);
    if (id === null) return refuse(socket, ack, null, 'validation_failed', 'expected {"room": <chatroom id>}');
    if (socket.rooms.has(channel(id))) {
      socket.leave(channel(id));
      io.to(channel(id)).emit('user_left', { room: id, user });
    }
    if (typeof ack === 'function') ack({ ok: true, room: id });
  });

  socket.on('send_message', (data, ack) => {
    const id = roomOf(data);
    if (id === null) return refuse(socket, ack, null, 'validation_failed', 'expected {"room": <chatroom id>}');
    if (!socket.rooms.has(channel(id))) return refuse(socket, ack, id, 'forbidden', 'join_room first');
    const text = data.text;
    if (typeof text !== 'string' || !text.trim() || Buffer.byteLength(text) > MAX_TEXT_BYTES) {
      return refuse(socket, ack, id, 'validation_failed', "field 'text' must be 1 to 4096 bytes");
    }
    const clientId = data.client_id;
    if (clientId !== undefined && clientId !== null && (typeof clientId !== 'string' || !CLIENT_ID.test(clientId))) {
      return refuse(socket, ack, id, 'validation_failed', "field 'client_id' must be a short string");
    }
    const room = rooms.get(id);
    const message = {
      id: nextMessageId++,
      room: id,
      seq: ++room.seq,
      text,
      kind: 'text',
      created_at: new Date().toISOString(),
      language: null,
      sender: user,
    };
    if (typeof clientId === 'string') message.client_id = clientId;
    if (typeof ack === 'function') ack({ id: message.id, created_at: message.created_at });
    io.to(channel(id)).emit('new_message', message);
  });

  socket.on('disconnecting', () => {
    for (const name of socket.rooms) {
      if (name.startsWith('room:')) socket.to(name).emit('user_left', { room: Number(name.slice(5)), user });
    }
  });
});

// Parley listens with a backlog of 4096 (Asio's default, SOMAXCONN); Node's default is 511,
// which overflows when 1000 handshakes arrive at once and costs SYN retransmits (1 s, 3 s):
// the same backlog compares the servers, not their defaults.
httpServer.listen({ port, host, backlog: 4096 }, () => {
  const version = require('socket.io/package.json').version;
  process.stderr.write(`node-socketio ${version} listening on ${host}:${port} pid ${process.pid}${recovery ? ' (recovery on)' : ''}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    io.close();
    httpServer.close();
    process.exit(0);
  });
}
