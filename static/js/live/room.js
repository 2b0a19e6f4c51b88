// The live room: one socket, one meeting, and the only place where the resync rule lives.
//
// The page starts from a snapshot taken when it was rendered, with the seq it reflects. Every server event
// carries the meeting's seq:
//   seq <= lastSeq       already known (or part of a snapshot): ignored;
//   seq == lastSeq + 1   the next change: applied;
//   seq >  lastSeq + 1   something was missed: the event is held and the room re-joins with lastSeq; the ack
//                        brings the missed events (or a snapshot when too far behind), then the held ones follow.
// Every (re)connect re-joins with lastSeq the same way, and so does a tablet waking up or a quiet minute (a
// lost *last* event leaves no gap to notice). While a join is in flight, arriving events are held.
//
// Usage: const room = new Room({meetingId, initial: {seq, snapshot}, token, onChange, onStatus, …}); room.start();
// Status: "connecting" → "connected" ⇄ "reconnecting" | "offline"; "ended" when removed or refused for good.

const JOIN_TIMEOUT_MS = 10000;
const CHECK_EVERY_MS = 60000;  // a quiet resync, with jitter so 500 tablets do not ask at once
const OFFLINE_POLL_MS = 5000;

/** A deep copy of plain JSON data. */
const copy = (value) => JSON.parse(JSON.stringify(value));

/** The page's state from a snapshot ({meeting, agenda, sessions}). */
export function fromSnapshot(snapshot) {
  const state = copy(snapshot);
  state.meeting = state.meeting || {};
  state.agenda = state.agenda || { items: [], current_item_id: null, current_item_started_at: null };
  state.sessions = state.sessions || [];
  state.documents = state.documents || [];
  state.view = state.view || { document_id: null, page: null };
  state.attendance = state.attendance || null;  // {session_id, roll_calls, counts, mine} of the open session
  state.quorum = state.quorum || null;          // {session_id, present, required, members, has_quorum}
  state.my_attendance = state.my_attendance || null;  // the viewer's own check-in and proxies
  state.speakers = state.speakers || { current: null, queue: [] };
  state.polls = state.polls || [];  // opened and closed polls (meetings.voting.operations.polls_payload)
  return state;
}

function setCurrent(state, itemId, startedAt, pausedSeconds) {
  state.agenda.current_item_id = itemId ?? null;
  state.agenda.current_item_started_at = startedAt ?? null;
  state.meeting.current_agenda_item_id = itemId ?? null;
  state.meeting.current_item_started_at = startedAt ?? null;
  if (pausedSeconds !== undefined) state.meeting.current_item_paused_seconds = pausedSeconds ?? 0;
}

/** Apply one event to the state (in place). Unknown types change nothing here but still count for seq. */
export function applyEvent(state, type, p) {
  switch (type) {
    case "meeting.state": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...fields } = p;
      Object.assign(state.meeting, fields);
      if ("current_agenda_item_id" in p) {
        setCurrent(state, p.current_agenda_item_id, p.current_item_started_at, p.current_item_paused_seconds);
      }
      break;
    }
    case "agenda.updated":
      state.agenda.items = p.items || [];
      setCurrent(state, p.current_item_id, p.current_item_started_at, p.current_item_paused_seconds);
      break;
    case "agenda.current":
      setCurrent(state, p.item_id, p.started_at, p.paused_seconds);
      if ("paused_at" in p) state.meeting.paused_at = p.paused_at;
      break;
    case "session.state": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...session } = p;
      const i = state.sessions.findIndex((s) => s.session_id === p.session_id);
      if (i >= 0) state.sessions[i] = { ...state.sessions[i], ...session };
      else state.sessions.push(session);
      break;
    }
    case "view.page": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...view } = p;
      state.view = view;
      break;
    }
    case "attendance.updated": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...attendance } = p;
      state.attendance = attendance;
      break;
    }
    case "quorum.updated": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...quorum } = p;
      state.quorum = quorum;
      break;
    }
    case "attendance.mine": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, user_id: _u, ...mine } = p;
      state.my_attendance = mine;
      break;
    }
    case "poll.opened":
    case "poll.closed": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...poll } = p;
      const i = state.polls.findIndex((x) => x.poll_id === poll.poll_id);
      if (i >= 0) state.polls[i] = { ...state.polls[i], ...poll };
      else state.polls.push(poll);
      break;
    }
    case "poll.tally": {
      const poll = state.polls.find((x) => x.poll_id === p.poll_id);
      if (poll) poll.progress = { cast: p.cast, eligible: p.eligible, ...(p.counts ? { counts: p.counts } : {}) };
      break;
    }
    case "speakers.updated":
      state.speakers = { current: p.current ?? null, queue: p.queue || [] };
      break;
    case "document.published":
    case "document.updated": {
      const { meeting_id: _m, seq: _s, at: _a, type: _t, ...doc } = p;
      const i = state.documents.findIndex((d) => d.document_id === doc.document_id);
      if (i >= 0) state.documents[i] = doc;
      else state.documents.push(doc);
      break;
    }
    default:  // "seq.skip" (an event for another audience) and types this page does not show
      break;
  }
  return state;
}

export class Room {
  /**
   * @param {object} o
   * @param {number} o.meetingId
   * @param {{seq: number, snapshot: object}} [o.initial]  what the page was rendered with (none: a snapshot on join)
   * @param {string} o.token                  the socket's auth token (page ticket or display token)
   * @param {() => Promise<string|null>} [o.refreshToken]  a new token after a refusal (null: none to be had)
   * @param {(state, info) => void} [o.onChange]  after a snapshot or events were applied
   * @param {(type, payload, state) => void} [o.onEvent]  every applied event, in seq order
   * @param {(status) => void} [o.onStatus]
   * @param {(reason) => void} [o.onEnded]    "left" (removed from the meeting), "refused", "not-visible"
   * @param {() => void} [o.onRefused]        each time the server refuses the token
   * @param {ServerClock} [o.clock]           corrected with the server's time from every join ack
   * @param {number} [o.maxRefusals]          refusals in a row before giving up (default 2)
   */
  constructor(o) {
    this.meetingId = o.meetingId;
    this.token = o.token;
    this.refreshToken = o.refreshToken || (async () => null);
    this.onChange = o.onChange || (() => {});
    this.onEvent = o.onEvent || (() => {});
    this.onStatus = o.onStatus || (() => {});
    this.onEnded = o.onEnded || (() => {});
    this.onRefused = o.onRefused || (() => {});
    this.clock = o.clock || null;
    this.maxRefusals = o.maxRefusals ?? 2;
    this.state = fromSnapshot((o.initial && o.initial.snapshot) || {});
    this.lastSeq = (o.initial && o.initial.seq) || 0;
    this.status = "connecting";
    this.held = [];          // events waiting for a join to finish or for a gap to be filled
    this.joining = false;
    this.joinAgain = false;
    this.joinTicket = 0;     // answers to joins sent before a disconnect are stale
    this.refusals = 0;
    this.offline = false;    // we closed the socket because the device went offline
    this.socket = null;
    this.timers = [];
  }

  start() {
    // eslint-disable-next-line no-undef
    this.socket = io({
      transports: ["websocket"],
      autoConnect: false,
      auth: (cb) => cb({ token: this.token }),
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      randomizationFactor: 0.5,
    });
    const s = this.socket;
    s.on("connect", () => { this.refusals = 0; this.join(); });
    s.on("disconnect", (reason) => this.disconnected(reason));
    s.on("connect_error", (err) => this.connectFailed(err));
    s.onAny((type, payload) => this.receive(type, payload));

    window.addEventListener("offline", () => this.wentOffline());
    window.addEventListener("online", () => this.cameOnline());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.resync();
    });
    this.timers.push(setInterval(() => this.resync(), CHECK_EVERY_MS + Math.floor(Math.random() * 15000)));
    this.timers.push(setInterval(() => { if (this.offline && navigator.onLine !== false) this.cameOnline(); },
      OFFLINE_POLL_MS));
    if (navigator.onLine === false) this.wentOffline();
    else s.connect();
    this.onChange(this.state, { snapshot: true, initial: true });
  }

  /** Re-join with lastSeq now (after a request whose event has not arrived, on wake-up, every minute). */
  resync() {
    if (this.status === "ended" || !this.socket || !this.socket.connected) return;
    this.join();
  }

  /** Send an event and resolve with its ack (``{error}`` when the socket is down or no answer comes). */
  emit(type, payload, timeoutMs = JOIN_TIMEOUT_MS) {
    return new Promise((resolve) => {
      if (!this.socket || !this.socket.connected) {
        resolve({ error: { status: 0, detail: "offline" } });
        return;
      }
      this.socket.timeout(timeoutMs).emit(type, payload, (err, ack) => {
        resolve(err ? { error: { status: 0, detail: "timeout" } } : (ack || {}));
      });
    });
  }

  setStatus(status) {
    if (this.status === status || this.status === "ended") return;
    this.status = status;
    this.onStatus(status);
  }

  end(reason) {
    if (this.status === "ended") return;
    this.setStatus("ended");
    this.status = "ended";
    this.timers.forEach(clearInterval);
    if (this.socket) this.socket.disconnect();
    this.onEnded(reason);
  }

  // --- connection --------------------------------------------------------------------------------------

  disconnected(reason) {
    if (this.status === "ended") return;
    this.joining = false;
    this.joinTicket += 1;
    if (this.offline || navigator.onLine === false) {
      this.setStatus("offline");
      return;
    }
    this.setStatus("reconnecting");
    // The server closed the socket (logged out elsewhere, deactivated, display revoked): socket.io will not
    // come back by itself; try once more, and a refusal then says what happened.
    if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 1000);
  }

  async connectFailed(err) {
    if (this.status === "ended") return;
    if (this.socket.active) {  // a transport failure: socket.io keeps retrying by itself
      this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
      return;
    }
    // The server refused the token: a page ticket may have expired while the page stayed open.
    this.refusals += 1;
    this.setStatus("reconnecting");
    this.onRefused();
    const fresh = this.refusals <= this.maxRefusals ? await this.refreshToken().catch(() => null) : null;
    if (this.status === "ended") return;
    if (fresh) {
      this.token = fresh;
      this.socket.connect();
    } else {
      this.end("refused");
    }
  }

  wentOffline() {
    if (this.status === "ended") return;
    this.offline = true;
    this.setStatus("offline");
    if (this.socket) this.socket.disconnect();  // the socket is dead anyway; reconnect cleanly when back
  }

  cameOnline() {
    if (this.status === "ended" || !this.offline) return;
    this.offline = false;
    this.setStatus("reconnecting");
    this.socket.connect();
  }

  // --- the seq rule ------------------------------------------------------------------------------------

  receive(type, payload) {
    if (this.status === "ended" || !payload || typeof payload !== "object") return;
    if (type === "meeting.left") {
      if (payload.meeting_id === this.meetingId) this.end("left");
      return;
    }
    if (payload.meeting_id !== this.meetingId || typeof payload.seq !== "number") return;
    this.held.push({ ...payload, type });
    if (!this.joining) this.drain();
  }

  /** Apply held events in seq order while they follow on; re-join at the first gap. */
  drain() {
    this.held.sort((a, b) => a.seq - b.seq);
    const applied = [];
    while (this.held.length) {
      const event = this.held[0];
      if (event.seq <= this.lastSeq) {
        this.held.shift();
      } else if (event.seq === this.lastSeq + 1) {
        this.held.shift();
        this.apply(event);
        applied.push(event);
      } else {
        break;  // a gap: keep the rest until the join has filled it
      }
    }
    if (applied.length) this.onChange(this.state, { events: applied });
    if (this.held.length) this.join();
  }

  apply(event) {
    applyEvent(this.state, event.type, event);
    this.lastSeq = event.seq;
    this.onEvent(event.type, event, this.state);
  }

  join() {
    if (this.status === "ended" || !this.socket || !this.socket.connected) return;
    if (this.joining) { this.joinAgain = true; return; }
    this.joining = true;
    this.joinAgain = false;
    const ticket = ++this.joinTicket;
    this.socket.timeout(JOIN_TIMEOUT_MS).emit("join", { meeting_id: this.meetingId, last_seq: this.lastSeq }, (err, ack) => {
      if (ticket !== this.joinTicket || this.status === "ended") return;
      this.joining = false;
      if (err || !ack) {  // no answer: the connection is probably dead; let socket.io notice, try again
        if (this.socket.connected) setTimeout(() => this.join(), 2000);
        return;
      }
      if (ack.error) {
        const status = ack.error.status;
        if (status === 404 || status === 403) this.end("not-visible");
        else if (status === 401) this.socket.disconnect().connect();  // the credential lapsed: reconnect
        else setTimeout(() => this.join(), 3000);
        return;
      }
      this.joined(ack);
    });
  }

  joined(ack) {
    if (this.clock && ack.now) this.clock.update(ack.now);
    if (ack.snapshot) {
      this.state = fromSnapshot(ack.snapshot);
      this.lastSeq = ack.seq;
      this.onChange(this.state, { snapshot: true });
    } else {
      const applied = [];
      for (const event of (ack.events || []).slice().sort((a, b) => a.seq - b.seq)) {
        if (event.seq <= this.lastSeq) continue;
        this.apply(event);  // events hidden from this caller leave holes in seq: the ack's seq covers them
        applied.push(event);
      }
      if (typeof ack.seq === "number" && ack.seq > this.lastSeq) this.lastSeq = ack.seq;
      if (applied.length) this.onChange(this.state, { events: applied });
    }
    this.setStatus("connected");
    if (this.joinAgain) this.join();
    else this.drain();
  }
}
