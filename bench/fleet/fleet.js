// The client fleet: N Socket.IO tablets (socket.io-client over a real WebSocket) plus the chair, in one process.
//
// Run by run.py as `node fleet.js CONFIG.json`; prints progress on stderr and one JSON result line on stdout.
// Phases (every loop is bounded in count and time; the whole run has a hard deadline):
//   1. rest-only: the chair moves the current item W times with no tablet connected -> server CPU per action
//      without broadcast; then the server's idle RSS.
//   2. connect + join: N tablets connect (auth: {token}, websocket transport, permessage-deflate offered as
//      browsers do) and emit `join {meeting_id, last_seq: 0}` with an ack; RSS with N joined; a quiet period
//      measures the server's idle CPU with N sockets (pings, sweeper).
//   3. actions: K times, the chair PUTs /agenda/current (alternating items); the clock starts just before the
//      request is written and stops, per tablet, when that tablet's `agenda.current` handler runs with the
//      new item. Server CPU (utime+stime from /proc/<pid>/stat) before/after the K actions.
//   4. reconnect storm: every tablet's WebSocket is terminated abruptly (no close frame) at once; each tablet
//      reconnects at a uniformly random moment within the storm window and re-joins with its last seq, while
//      the chair keeps moving the current item. Measured: time from the drop until every tablet's contiguous
//      seq equals the server's latest, and the seqs no tablet ever received (gaps, not covered by a snapshot).
"use strict";

const fs = require("fs");
const http = require("http");
const { performance } = require("perf_hooks");
const { io } = require("socket.io-client");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

// permessage-deflate on the client side, inflated the way a browser does: synchronously, per socket, with
// context takeover. ws's own inflate goes through libuv's thread pool behind a process-wide limit of 10
// concurrent inflates: one fleet process holding 500 sockets would then be the bottleneck, and the server
// that compresses (ours) would be charged for it. The callback is deferred to keep ws's parser re-entrancy
// the same as with its asynchronous inflate.
if (cfg.clientDeflate) {
  const path = require("path");
  const zlib = require("zlib");
  // by file path: ws's package exports hide lib/, and engine.io-client loads this very module instance
  const PerMessageDeflate = require(path.join(path.dirname(require.resolve("ws")), "lib", "permessage-deflate.js"));
  const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
  // Context takeover without a persistent stream: the previous output (the LZ77 window) is the preset
  // dictionary of the next message's raw inflate. Fragments are inflated together once the message is whole.
  PerMessageDeflate.prototype.decompress = function decompress(data, fin, callback) {
    const endpoint = this._isServer ? "client" : "server";
    const bits = typeof this.params[`${endpoint}_max_window_bits`] === "number"
      ? this.params[`${endpoint}_max_window_bits`] : zlib.constants.Z_DEFAULT_WINDOWBITS;
    (this._fragmentsIn ||= []).push(data);
    if (!fin) { process.nextTick(callback, null, Buffer.alloc(0)); return; }
    const input = Buffer.concat([...this._fragmentsIn, TRAILER]);
    this._fragmentsIn = [];
    let out;
    try {
      const opts = { windowBits: bits, finishFlush: zlib.constants.Z_SYNC_FLUSH };
      if (this._window && this._window.length) opts.dictionary = this._window;
      out = zlib.inflateRawSync(input, opts);
    } catch (err) {
      process.nextTick(callback, err);
      return;
    }
    this._window = this.params[`${endpoint}_no_context_takeover`] ? null
      : Buffer.concat(this._window ? [this._window, out] : [out]).subarray(-(1 << bits));
    process.nextTick(callback, null, out);
  };
}
const N = cfg.tokens.length;
const base = new URL(cfg.url);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(`[fleet ${cfg.label}]`, ...a);

setTimeout(() => {
  log(`hard deadline of ${cfg.deadlineS} s reached, giving up`);
  process.exit(3);
}, cfg.deadlineS * 1000);

// --- the server process, seen from /proc -------------------------------------------------------------------

function cpuSeconds() {
  const stat = fs.readFileSync(`/proc/${cfg.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / cfg.clkTck; // utime (14) + stime (15)
}

// Machine-wide busy CPU seconds (all cores), to tell how much CPU other processes took during a phase.
function machineBusySeconds() {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / cfg.clkTck; // minus idle and iowait
}

// CPU seconds of every PostgreSQL process (pid -> s), when the server uses PostgreSQL: its backends work
// for us, so they are not counted as "other processes".
function postgresCpu() {
  const out = new Map();
  if (!cfg.countPostgres) return out;
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.includes("(postgres)")) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, (Number(f[11]) + Number(f[12])) / cfg.clkTck);
    } catch { /* exited */ }
  }
  return out;
}

function postgresDelta(before, after) {
  let s = 0;
  for (const [pid, v] of after) s += v - (before.get(pid) || 0); // new backends: all their CPU
  return Math.max(0, s);
}

function fleetCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// CPU taken by every process on the machine except the server and this fleet, in % of one core.
function otherLoad(start) {
  if (!start) {
    return { machine: machineBusySeconds(), server: cpuSeconds(), fleet: fleetCpuSeconds(), pg: postgresCpu(), t: now() };
  }
  const end = otherLoad(null);
  const pg = postgresDelta(start.pg, end.pg);
  const other = (end.machine - start.machine) - (end.server - start.server) - (end.fleet - start.fleet) - pg;
  return { otherPct: Math.max(0, (100 * other) / ((end.t - start.t) / 1000)),
           fleetPct: (100 * (end.fleet - start.fleet)) / ((end.t - start.t) / 1000), fleetS: end.fleet - start.fleet, pgS: pg };
}

function rssKB() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${cfg.pid}/status`, "utf8"));
  return Number(m[1]);
}

// --- the chair: plain HTTP with keep-alive -----------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function rest(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { Authorization: `Bearer ${cfg.chairToken}`, Accept: "application/json" };
    if (data) Object.assign(headers, { "Content-Type": "application/json", "Content-Length": data.length });
    const t0 = now();
    const req = http.request({ host: base.hostname, port: base.port, path, method, headers, agent, timeout: 30000 },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode >= 400) return reject(new Error(`${method} ${path} -> ${res.statusCode}: ${text.slice(0, 300)}`));
          resolve({ t0, ms: now() - t0, body: text ? JSON.parse(text) : null });
        });
      });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

const itemIds = cfg.itemIds.slice(0, 2);
let currentItem = null;
// rest() takes t0 just before the request is written (nothing can arrive before that).
async function moveCurrentItem() {
  const target = currentItem === itemIds[0] ? itemIds[1] : itemIds[0];
  const res = await rest("PUT", `/api/v1/meetings/${cfg.meetingId}/agenda/current`, { item_id: target });
  currentItem = target;
  return { target, ...res };
}

// --- tablets -----------------------------------------------------------------------------------------------

let action = null; // {target, t0, arrivals: Float64Array, count, done}
let storm = null;

class Tablet {
  constructor(i, token) {
    this.i = i;
    this.token = token;
    this.lastSeq = 0; // contiguous: every seq <= lastSeq was received or covered by a snapshot
    this.joined = false;
    this.pending = new Set(); // seqs received out of order (before the join ack, or after a hole)
    this.duplicates = 0;
    this.holesSeen = 0;
    this.joinMs = [];
    this.onJoined = null;
    this.joinErrors = 0;
  }

  open() {
    return new Promise((resolve, reject) => {
      const s = io(cfg.url, {
        forceNew: true, transports: ["websocket"], reconnection: false, timeout: 20000,
        auth: { token: this.token }, extraHeaders: { Origin: cfg.url.replace(/\/$/, "") },
        // Browsers always offer permessage-deflate; so does socket.io-client (threshold 1 KB for its sends).
        perMessageDeflate: cfg.clientDeflate ? { threshold: 1024 } : false,
      });
      this.socket = s;
      this.onJoined = resolve;
      s.on("connect", () => this.join());
      s.on("connect_error", (err) => {
        if (storm && storm.active) return this.retry();
        reject(err);
      });
      s.on("disconnect", (reason) => {
        this.joined = false;
        if (storm && storm.active && this.dropped) {
          const delay = Math.max(0, storm.tDrop + this.reconnectAt - now());
          setTimeout(() => s.connect(), delay);
        } else if (!closing) {
          unexpectedDisconnects.push(`${this.i}: ${reason}`);
        }
      });
      s.onAny((event, data) => this.onEvent(event, data));
    });
  }

  retry() {
    storm.connectRetries += 1;
    setTimeout(() => { if (!this.socket.connected) this.socket.connect(); }, 200);
  }

  join() {
    const t0 = now();
    this.socket.timeout(30000).emit("join", { meeting_id: cfg.meetingId, last_seq: this.lastSeq }, (err, ack) => {
      if (err || !ack || ack.error) {
        this.joinErrors += 1;
        log(`tablet ${this.i} join failed: ${err ? err.message : JSON.stringify(ack && ack.error)}`);
        if (storm && storm.active) { this.socket.disconnect(); this.dropped = true; return this.retry(); }
        return;
      }
      this.joinMs.push(now() - t0);
      if (ack.snapshot) {
        const seq = ack.last_seq ?? ack.seq;
        if (storm) storm.snapshots += 1;
        this.snapSeq = Math.max(this.snapSeq || 0, seq);
        this.advanceTo(Math.max(this.lastSeq, seq));
      } else {
        for (const e of ack.events || []) {
          if (storm) this.received.add(e.seq);
          this.apply(e.seq, true);
        }
        if (storm) storm.catchUpEvents += (ack.events || []).length;
      }
      this.joined = true;
      this.drain();
      this.rejoinedAt = now();
      if (this.onJoined) { const cb = this.onJoined; this.onJoined = null; cb(); }
    });
  }

  onEvent(event, data) {
    if (!data || typeof data.seq !== "number") return;
    if (action && event === "agenda.current" && data.item_id === action.target && !(action.arrivals[this.i] >= 0)) {
      action.arrivals[this.i] = now(); // absolute; the request's t0 is subtracted afterwards
      action.count += 1;
      if (action.count === N) action.done();
    }
    if (storm) this.received.add(data.seq);
    if (!this.joined) { this.pending.add(data.seq); return; }
    this.apply(data.seq, false);
  }

  apply(seq, fromCatchUp) {
    if (seq <= this.lastSeq) { if (!fromCatchUp || !this.pending.has(seq)) this.duplicates += 1; return; }
    if (seq === this.lastSeq + 1) { this.advanceTo(seq); this.drain(); return; }
    this.pending.add(seq);
    this.holesSeen += 1;
  }

  drain() {
    for (const s of [...this.pending].sort((a, b) => a - b)) {
      if (s <= this.lastSeq) this.pending.delete(s);
      else if (s === this.lastSeq + 1) { this.pending.delete(s); this.advanceTo(s); }
    }
  }

  advanceTo(seq) {
    if (storm && seq > this.lastSeq) for (let s = this.lastSeq + 1; s <= seq; s++) this.reached.set(s, now());
    this.lastSeq = seq;
  }

  drop() {
    this.dropped = true;
    const ws = this.socket.io.engine && this.socket.io.engine.transport && this.socket.io.engine.transport.ws;
    if (ws && typeof ws.terminate === "function") ws.terminate(); // TCP reset-style close: no close frame
    else this.socket.io.engine.close();
  }
}

let closing = false;
const unexpectedDisconnects = [];

// --- statistics --------------------------------------------------------------------------------------------

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
const sortNum = (a) => Float64Array.from(a).sort();
const median = (a) => pct(sortNum(a), 0.5);

// --- phases ------------------------------------------------------------------------------------------------

async function restOnly() {
  for (let i = 0; i < 3; i++) await moveCurrentItem(); // warm caches, not measured
  const cpu0 = cpuSeconds();
  const ms = [];
  const t0 = now();
  for (let i = 0; i < cfg.warmupActions; i++) {
    ms.push((await moveCurrentItem()).ms);
    await sleep(cfg.gapMs);
  }
  const elapsed = (now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  return { actions: cfg.warmupActions, restMsP50: median(ms), cpuMsPerAction: (cpu * 1000) / cfg.warmupActions,
           elapsedS: elapsed };
}

async function connectAll(tablets) {
  const t0 = now();
  let next = 0;
  const failures = [];
  async function worker() {
    while (next < tablets.length) {
      const t = tablets[next++];
      let ok = false;
      for (let attempt = 0; attempt < 3 && !ok; attempt++) {
        try {
          await Promise.race([t.open(), sleep(30000).then(() => { throw new Error("connect+join timed out"); })]);
          ok = true;
        } catch (err) {
          if (t.socket) { t.socket.removeAllListeners(); t.socket.disconnect(); }
          if (attempt === 2) failures.push(`${t.i}: ${err.message}`);
          else await sleep(500);
        }
      }
    }
  }
  await Promise.all(Array.from({ length: cfg.connectConcurrency }, worker));
  if (failures.length) throw new Error(`${failures.length} tablets could not connect/join: ${failures.slice(0, 3).join("; ")}`);
  const ext = tablets[0].socket.io.engine.transport.ws && tablets[0].socket.io.engine.transport.ws.extensions;
  return { seconds: (now() - t0) / 1000, joinMsP50: median(tablets.map((t) => t.joinMs[0])),
           joinMsMax: Math.max(...tablets.map((t) => t.joinMs[0])), extensions: ext || "" };
}

async function runActions(tablets) {
  const perAction = [];
  const all = [];
  const cpu0 = cpuSeconds();
  const load0 = otherLoad(null);
  const tStart = now();
  for (let k = 0; k < cfg.actions; k++) {
    const arrivals = new Float64Array(N).fill(-1);
    let doneResolve;
    const done = new Promise((r) => { doneResolve = r; });
    const target = currentItem === itemIds[0] ? itemIds[1] : itemIds[0];
    action = { target, arrivals, count: 0, done: doneResolve };
    const res = await moveCurrentItem();
    if (res.target !== target) throw new Error("internal: target mismatch");
    await Promise.race([done, sleep(cfg.actionTimeoutMs)]);
    const lat = [];
    let missing = 0;
    for (let i = 0; i < N; i++) {
      if (arrivals[i] < 0) { missing += 1; continue; }
      lat.push(arrivals[i] - res.t0);
    }
    action = null;
    const s = sortNum(lat);
    perAction.push({ restMs: res.ms, first: s[0], p50: pct(s, 0.5), p99: pct(s, 0.99), last: s[s.length - 1],
                     missing });
    for (const v of lat) all.push(v);
    await sleep(cfg.gapMs);
  }
  const elapsed = (now() - tStart) / 1000;
  const cpu = cpuSeconds() - cpu0;
  const load = otherLoad(load0);
  const s = sortNum(all);
  return {
    actions: cfg.actions, samples: all.length, missing: perAction.reduce((a, p) => a + p.missing, 0),
    p50: pct(s, 0.5), p99: pct(s, 0.99), max: s[s.length - 1],
    firstMedian: median(perAction.map((p) => p.first)), lastMedian: median(perAction.map((p) => p.last)), lastWorst: Math.max(...perAction.map((p) => p.last)),
    restMsP50: median(perAction.map((p) => p.restMs)), restMsMax: Math.max(...perAction.map((p) => p.restMs)),
    cpuS: cpu, elapsedS: elapsed, cpuMsPerAction: (cpu * 1000) / cfg.actions, perAction,
    otherLoadPct: load.otherPct, fleetCpuPct: load.fleetPct, fleetCpuMsPerAction: (load.fleetS * 1000) / cfg.actions,
    postgresCpuMsPerAction: cfg.countPostgres ? (load.pgS * 1000) / cfg.actions : null,
  };
}

async function runStorm(tablets) {
  storm = { active: true, tDrop: now(), snapshots: 0, catchUpEvents: 0, connectRetries: 0 };
  for (const t of tablets) {
    t.received = new Set();
    t.reached = new Map();
    t.initialSeq = t.lastSeq;
    t.snapSeq = 0;
    t.rejoinedAt = null;
    t.reconnectAt = Math.random() * cfg.stormWindowMs;
  }
  const seqBefore = Math.max(...tablets.map((t) => t.lastSeq));
  const load0 = otherLoad(null);
  const cpu0 = cpuSeconds();
  storm.tDrop = now();
  for (const t of tablets) t.drop();
  // The chair keeps moving the current item during the storm, until every tablet is back (bounded).
  // Only the chair writes to this meeting during the run, so its k-th action here has seq seqBefore + k;
  // it is surely committed once its response is back: committed[k-1] = that time.
  const committed = [];
  const chairMs = [];
  while (now() - storm.tDrop < cfg.stormTimeoutMs) {
    const back = tablets.every((t) => t.joined && t.rejoinedAt !== null);
    if (back && now() - storm.tDrop > cfg.stormWindowMs) break;
    const res = await moveCurrentItem();
    committed.push(now());
    chairMs.push(res.ms);
    await sleep(cfg.stormIntervalMs);
  }
  const chairActions = committed.length;
  const allBack = tablets.every((t) => t.joined && t.rejoinedAt !== null);
  const lastRejoin = allBack ? Math.max(...tablets.map((t) => t.rejoinedAt)) - storm.tDrop : NaN;
  // The server's latest seq, from the server itself.
  const latest = (await rest("GET", `/api/v1/meetings/${cfg.meetingId}/events?after=${seqBefore}`)).body.last_seq;
  const deadline = now() + cfg.resyncWaitMs;
  while (now() < deadline && !tablets.every((t) => t.lastSeq >= latest)) await sleep(5);
  storm.active = false;
  const load = otherLoad(load0);
  const stormCpuS = cpuSeconds() - cpu0;
  // A tablet is resynced at the first moment t after its re-join when its contiguous seq is at least the
  // latest seq committed by then (the ack itself, or a later live event).
  const committedSeqAt = (t) => {
    let k = 0;
    while (k < committed.length && committed[k] <= t) k++;
    return seqBefore + k;
  };
  const resyncAt = (tab) => {
    if (tab.rejoinedAt === null || tab.lastSeq < latest) return NaN;
    const candidates = [tab.rejoinedAt, ...[...tab.reached.values()].filter((v) => v > tab.rejoinedAt)]
      .sort((a, b) => a - b);
    for (const t of candidates) {
      const c = committedSeqAt(t);
      if (c <= tab.initialSeq || c <= tab.snapSeq || (tab.reached.has(c) && tab.reached.get(c) <= t)) return t;
    }
    return NaN;
  };
  const resyncTimes = tablets.map((t) => resyncAt(t) - storm.tDrop);
  const resynced = resyncTimes.filter((v) => v === v);
  let gaps = 0;
  let gapTablets = 0;
  for (const t of tablets) {
    let missing = 0;
    for (let s = Math.max(t.initialSeq, t.snapSeq) + 1; s <= latest; s++) if (!t.received.has(s)) missing += 1;
    gaps += missing;
    if (missing) gapTablets += 1;
  }
  return {
    windowMs: cfg.stormWindowMs, chairActions, chairMsP50: median(chairMs), seqBefore, latest,
    allResynced: resynced.length === N, resyncedCount: resynced.length,
    resyncAllS: resynced.length === N ? Math.max(...resynced) / 1000 : NaN,
    resyncP50S: median(resynced) / 1000, lastRejoinS: lastRejoin / 1000,
    seqAccounted: latest === seqBefore + chairActions, otherLoadPct: load.otherPct, serverCpuS: stormCpuS,
    rejoinAckMsP50: median(tablets.map((t) => t.joinMs[t.joinMs.length - 1])),
    rejoinAckMsMax: Math.max(...tablets.map((t) => t.joinMs[t.joinMs.length - 1])),
    gaps, gapTablets, snapshots: storm.snapshots, catchUpEvents: storm.catchUpEvents,
    duplicates: tablets.reduce((a, t) => a + t.duplicates, 0), connectRetries: storm.connectRetries,
  };
}

async function main() {
  const result = { label: cfg.label, clients: N };
  log(`rest-only: ${cfg.warmupActions} chair actions, no tablet connected`);
  result.restOnly = await restOnly();
  await sleep(500);
  result.rssIdleKB = rssKB();
  log(`connecting ${N} tablets (${cfg.connectConcurrency} at a time)`);
  const tablets = cfg.tokens.map((tok, i) => new Tablet(i, tok));
  result.connect = await connectAll(tablets);
  log(`connected and joined in ${result.connect.seconds.toFixed(1)} s`);
  await sleep(1000);
  result.rssConnectedKB = rssKB();
  const q0 = cpuSeconds();
  await sleep(cfg.quietMs);
  result.idleCpuMsPerS = ((cpuSeconds() - q0) * 1000) / (cfg.quietMs / 1000);
  log(`${cfg.actions} chair actions`);
  const actionsResult = await runActions(tablets);
  result.actions = actionsResult;
  result.rssAfterActionsKB = rssKB();
  log(`reconnect storm: ${N} tablets drop and come back within ${cfg.stormWindowMs} ms`);
  result.storm = await runStorm(tablets);
  result.unexpectedDisconnects = unexpectedDisconnects.slice(0, 10);
  result.unexpectedDisconnectCount = unexpectedDisconnects.length;
  result.holesSeenLive = tablets.reduce((a, t) => a + t.holesSeen, 0);
  closing = true;
  for (const t of tablets) t.socket.disconnect();
  await sleep(200);
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

main().catch((err) => {
  log(`failed: ${err.stack || err}`);
  process.exit(2);
});
