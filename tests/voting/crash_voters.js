// Voters for the crash test (tests/voting/test_crash.py): N tablets (the official socket.io-client, real
// WebSockets) cast their ballots spread over a few seconds, each with its own idempotency key, and keep the
// key until they have an answer from the server as it is after its restart.
//
//   node crash_voters.js CONFIG.json     CONFIG: {url, pollId, tokens: [...], choices: [...], spreadMs}
//
// All tablets connect first; then each casts at its moment; whenever it (re)connects after that, it casts again with the same key, as a
// tablet does that is not sure its ballot arrived. Every ack is printed at once as a JSON line
// {"i", "receipt", "repeated", "connection"} (or {"i", "error"}); "connection" counts the tablet's connections,
// so the test tells the acks of the first server from those of the restarted one. The script ends with
// {"done": true} when every tablet has an ack on a connection after its first (the server was restarted and
// each retry was answered).
"use strict";

const fs = require("fs");
const path = require("path");
const { io } = require(path.join(__dirname, "..", "..", "node_modules", "socket.io-client"));

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
setTimeout(() => { say({ deadline: true }); process.exit(3); }, 120000).unref();

const finished = new Set();
const timers = [];
let connected = 0;
const startStorm = () => {
  say({ connected });
  timers.forEach((start, i) => setTimeout(start, Math.floor((i / cfg.tokens.length) * cfg.spreadMs)));
};

cfg.tokens.forEach((token, i) => {
  const key = `crash-test-${cfg.pollId}-${String(i).padStart(4, "0")}-key`;
  const socket = io(cfg.url, {
    forceNew: true, transports: ["websocket"], auth: { token }, extraHeaders: { Origin: cfg.url },
    reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0.2, timeout: 5000,
  });
  let connection = 0;
  let due = false;
  const cast = () => {
    const on = connection;
    socket.timeout(10000).emit("ballot.cast", { poll_id: cfg.pollId, choice: cfg.choices[i], idempotency_key: key },
      (err, ack) => {
        if (err) {
          if (socket.connected && on === connection) cast(); // no answer yet: ask again with the same key
          return;
        }
        if (ack.error) say({ i, error: ack.error, connection: on });
        else say({ i, receipt: ack.receipt, repeated: ack.repeated, connection: on });
        if (on > 1 && !finished.has(i)) {
          finished.add(i);
          socket.disconnect();
          if (finished.size === cfg.tokens.length) { say({ done: true }); process.exit(0); }
        }
      });
  };
  socket.on("connect", () => {
    connection += 1;
    if (connection === 1 && ++connected === cfg.tokens.length) startStorm();
    if (due) cast();
  });
  timers[i] = () => {
    due = true;
    if (socket.connected) cast();
  };
});
