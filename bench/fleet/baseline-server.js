// A minimal Node socket.io server doing the same broadcast as Phòng Họp, for the ratio "ours / Node".
//
// Same wire contract as the real server, as far as the fleet sees it:
//   - Socket.IO on the default namespace, `auth: {token}` checked against the benchmark's token list;
//   - `join {meeting_id, last_seq}` with an ack `{seq, last_seq, events | snapshot}` (missed events from an
//     in-memory log, a snapshot when last_seq is 0 or too far behind);
//   - PUT /api/v1/meetings/:id/agenda/current {item_id} (Bearer chair token) appends an `agenda.current`
//     event {item_id, started_at, meeting_id, seq, at} and emits it to the room `meeting:<id>`;
//   - GET /api/v1/meetings/:id/events?after=SEQ -> {last_seq, events | snapshot}.
// No database, no commit: this is the floor a Node process sets for "emit one small payload to N sockets".
// socket.io's defaults are kept (perMessageDeflate off, as in socket.io 4).
//
// Usage: node baseline-server.js --port P --tokens FILE.json   (FILE as written by setup_db.py)
"use strict";

const http = require("http");
const fs = require("fs");
const { Server } = require("socket.io");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const port = Number(arg("port", "0"));
const setup = JSON.parse(fs.readFileSync(arg("tokens"), "utf8"));
const MEETING_ID = setup.meeting_id;
const tokens = new Map(setup.tokens.map((t, i) => [t, i + 1000]));
tokens.set(setup.chair_token, 1);
const MAX_MISSED = 500;

const meeting = { lastSeq: 0, currentItemId: null, startedAt: null };
const log = []; // {seq, type, payload}

function isoNow() {
  // Vietnam time with offset, as the real server prints it.
  const d = new Date(Date.now() + 7 * 3600 * 1000);
  return d.toISOString().replace("Z", "+07:00");
}

function appendEvent(type, payload) {
  meeting.lastSeq += 1;
  const message = { ...payload, meeting_id: MEETING_ID, seq: meeting.lastSeq, at: isoNow() };
  log.push({ seq: meeting.lastSeq, type, message });
  if (log.length > 2 * MAX_MISSED) log.splice(0, log.length - MAX_MISSED);
  return message;
}

function snapshot() {
  return { meeting: { id: MEETING_ID, state: "in_session", current_agenda_item_id: meeting.currentItemId,
                      current_item_started_at: meeting.startedAt } };
}

function catchUp(after) {
  if (after === 0 || meeting.lastSeq - after > MAX_MISSED || after > meeting.lastSeq) {
    return { last_seq: meeting.lastSeq, snapshot: snapshot() };
  }
  const events = log.filter((e) => e.seq > after).map((e) => ({ ...e.message, type: e.type }));
  return { last_seq: meeting.lastSeq, events };
}

function send(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const auth = (req.headers.authorization || "").replace(/^Bearer /, "");
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (url.pathname === "/health") return send(res, 200, { ok: true });
    if (tokens.get(auth) !== 1) return send(res, 401, { status: 401, title: "not logged in" });
    if (url.pathname === `/api/v1/meetings/${MEETING_ID}/agenda/current` && req.method === "PUT") {
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString() || "{}"); } catch { return send(res, 400, {}); }
      if (body.item_id !== meeting.currentItemId) meeting.startedAt = isoNow();
      meeting.currentItemId = body.item_id;
      const message = appendEvent("agenda.current", { item_id: body.item_id, started_at: meeting.startedAt });
      io.to(`meeting:${MEETING_ID}`).emit("agenda.current", message);
      return send(res, 200, { meeting_id: MEETING_ID, current_item_id: meeting.currentItemId });
    }
    if (url.pathname === `/api/v1/meetings/${MEETING_ID}/events` && req.method === "GET") {
      return send(res, 200, catchUp(Number(url.searchParams.get("after") || 0)));
    }
    return send(res, 404, { status: 404 });
  });
});

const io = new Server(httpServer, { pingInterval: 10000, pingTimeout: 10000, maxHttpBufferSize: 64 * 1024 });

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  const userId = tokens.get(token);
  if (userId === undefined) return next(new Error("the token is invalid"));
  socket.data.userId = userId;
  socket.join(`user:${userId}`);
  next();
});

io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    if (typeof ack !== "function") return;
    if (!data || data.meeting_id !== MEETING_ID) return ack({ error: { status: 404 } });
    socket.join(`meeting:${MEETING_ID}`);
    const lastSeq = Number.isInteger(data.last_seq) ? data.last_seq : 0;
    ack({ seq: meeting.lastSeq, ...catchUp(lastSeq) });
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`baseline listening on http://127.0.0.1:${httpServer.address().port}/`);
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
