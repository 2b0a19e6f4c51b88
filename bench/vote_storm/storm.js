// The vote storm: N tablets (socket.io-client over real WebSockets) join the meeting; once the poll is open,
// every tablet casts its ballot at the same moment (`ballot.cast` with an idempotency key) and waits for the
// ack, which the server sends only after the ballot is committed.
//
// Run by run.py as `node storm.js CONFIG.json` (modules from bench/fleet/node_modules); prints progress on
// stderr and one JSON line on stdout: connect time, then for the storm: time until all N acks (from the
// moment the first ballot is sent), ack latency p50/p99, ballots per second, errors, the acked receipts, and the CPU seconds the server
// and this fleet used during the storm.
"use strict";

const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");
const { io } = require(path.join(__dirname, "..", "fleet", "node_modules", "socket.io-client"));

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const now = () => performance.now();
const log = (msg) => process.stderr.write(`storm: ${msg}\n`);
setTimeout(() => { log("deadline reached"); process.exit(3); }, cfg.deadlineS * 1000).unref();

function connect(token, i) {
  return new Promise((resolve, reject) => {
    const s = io(cfg.url, { forceNew: true, transports: ["websocket"], reconnection: false, timeout: 20000,
                            auth: { token }, extraHeaders: { Origin: cfg.url.replace(/\/$/, "") },
                            perMessageDeflate: false });
    s.on("connect", () => {
      s.timeout(30000).emit("join", { meeting_id: cfg.meetingId, last_seq: 0 }, (err, ack) => {
        if (err || !ack || ack.error) reject(new Error(`tablet ${i} join: ${err ? err.message : JSON.stringify(ack.error)}`));
        else resolve(s);
      });
    });
    s.on("connect_error", (err) => reject(new Error(`tablet ${i} connect: ${err.message}`)));
  });
}

async function connectAll() {
  const sockets = new Array(cfg.tokens.length);
  let next = 0;
  const workers = Array.from({ length: cfg.connectConcurrency }, async () => {
    while (next < cfg.tokens.length) {
      const i = next++;
      sockets[i] = await connect(cfg.tokens[i], i);
    }
  });
  await Promise.all(workers);
  return sockets;
}

// CPU seconds a process has used so far (utime + stime from /proc, in clock ticks of 10 ms).
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const t0 = now();
  const sockets = await connectAll();
  const connectS = (now() - t0) / 1000;
  log(`${sockets.length} tablets joined in ${connectS.toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, cfg.settleMs));
  const choices = ["yes", "no", "abstain"];
  const acks = [];
  const errors = [];
  const receipts = {};
  const serverCpu0 = cpuSeconds(cfg.serverPid);
  const ownCpu0 = process.cpuUsage();
  const start = now();
  await Promise.all(sockets.map((s, i) => new Promise((resolve) => {
    const sent = now();
    const choice = choices[i % 3];
    s.timeout(cfg.ackTimeoutMs).emit("ballot.cast", { poll_id: cfg.pollId, choice,
      idempotency_key: `storm-${cfg.run}-${String(i).padStart(4, "0")}-key` }, (err, ack) => {
      if (err || !ack || ack.error) errors.push(err ? err.message : JSON.stringify(ack.error).slice(0, 200));
      else {
        acks.push({ at: now() - start, latency: now() - sent });
        receipts[ack.receipt] = choice;
      }
      resolve();
    });
  })));
  const serverCpuS = cpuSeconds(cfg.serverPid) - serverCpu0;
  const ownCpu = process.cpuUsage(ownCpu0);
  const lat = acks.map((a) => a.latency).sort((a, b) => a - b);
  const lastAck = acks.length ? Math.max(...acks.map((a) => a.at)) : null;
  for (const s of sockets) s.disconnect();
  const counts = { yes: 0, no: 0, abstain: 0 };
  for (const c of Object.values(receipts)) counts[c] += 1;
  process.stdout.write(JSON.stringify({
    clients: sockets.length, connectS, acked: acks.length, errors: errors.length, errorSamples: errors.slice(0, 5),
    allAckedMs: lastAck, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] ?? null,
    ballotsPerS: lastAck ? acks.length / (lastAck / 1000) : null, ackedCounts: counts,
    serverCpuS, fleetCpuS: (ownCpu.user + ownCpu.system) / 1e6,
  }) + "\n");
  process.exit(0);
}

main().catch((err) => { log(err.stack || String(err)); process.exit(2); });
