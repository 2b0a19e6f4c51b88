// The speakers' queue (đăng ký phát biểu) on the live pages. templates/live/_speakers.html draws the frame
// (one [data-testid=speakers] section per page, with its own translations); this module fills it from
// state.speakers ({current, queue}, kept by room.js from the snapshot and speakers.updated) and sends the
// buttons' requests to the REST API. What the page shows comes back through the event, as everywhere here.
//
// Wiring — the same on console.js, tablet.js and display.js:
//   template:  {% import "live/_speakers.html" as speakers_ui with context %}
//              {{ speakers_ui.console_speakers() }} | {{ speakers_ui.tablet_speakers() }} | {{ speakers_ui.display_speakers() }}
//   script:    import { mountSpeakers } from "./speakers.js";
//              let speakers = null;                          // next to `let follow = null`
//              in render(next): if (speakers) speakers.draw(next);
//              in tick():       if (speakers) speakers.tick();
//              after `const room = new Room(…)`, before room.start():
//              speakers = mountSpeakers(document.querySelector("[data-testid=speakers]"), { clock, room });
//
// The countdown runs from the request's granted_at plus its limit_seconds on the ServerClock (ui.js), so every
// tablet and the projector show the same time; past the limit it counts the overrun ("+00:12") in red.
import { api, clearMessage, showMessage, whileBusy } from "../http.js";
import { duration, el, findItem, fmt } from "./ui.js";

const QUEUE_STATES = ["in_session", "paused"];
const GRANT_STATES = ["in_session"];
const FINISH_STATES = ["in_session", "paused", "adjourned"];
const KINDS = ["speech", "question", "point_of_order"];
const DISPLAY_NEXT = 3;

/**
 * The countdown of a request that has the floor at ``nowMs`` (server time), or null.
 * level: "ok", "near" (the last fifth, between 10 s and 1 min), "over" (past the limit: text is "+mm:ss").
 */
export function countdown(request, nowMs) {
  const granted = Date.parse((request && request.granted_at) || "");
  if (!Number.isFinite(granted)) return null;
  const limit = Math.max(0, request.limit_seconds || 0) * 1000;
  const remaining = granted + limit - nowMs;
  const nearWindow = Math.min(60000, Math.max(10000, limit * 0.2));
  if (remaining < 0) return { remaining, limit, level: "over", text: `+${duration(-remaining)}` };
  // Rounded up: the full limit shows at the start ("05:00", not "04:59"), "00:00" only when time is up.
  return { remaining, limit, level: remaining <= nearWindow ? "near" : "ok", text: duration(remaining + 999) };
}

function drawCountdown(node, request, nowMs, t) {
  if (!node) return;
  const c = request ? countdown(request, nowMs) : null;
  node.dataset.level = c ? c.level : "idle";
  node.querySelector("[data-countdown-time]").textContent = c ? c.text : "";
  const note = node.querySelector("[data-countdown-note]");
  if (note) {
    note.textContent = !c ? "" : (c.level === "over" ? t.overTime : fmt(t.limit, { time: duration(c.limit) }));
  }
}

function itemLabel(state, request, t) {
  const item = findItem(state.agenda && state.agenda.items, request.agenda_item_id);
  return item ? fmt(t.item, { number: item.number }) : "";
}

function kindBadge(request, t) {
  return el("span", { class: `badge speaker-kind kind-${request.kind}` }, t.kinds[request.kind] || request.kind);
}

function drawCurrent(block, state, t, { myUserId }) {
  const current = state.speakers.current;
  block.dataset.requestId = current ? String(current.id) : "";
  block.classList.toggle("is-me", Boolean(current && myUserId && current.user_id === myUserId));
  block.querySelector("[data-speaker-body]").hidden = !current;
  block.querySelector("[data-speaker-nobody]").hidden = Boolean(current);
  if (!current) return;
  block.querySelector("[data-speaker-name]").textContent = current.full_name;
  const kind = block.querySelector("[data-speaker-kind]");
  kind.textContent = t.kinds[current.kind] || current.kind;
  kind.className = `badge speaker-kind kind-${current.kind}`;
  block.querySelector("[data-speaker-item]").textContent = itemLabel(state, current, t);
}

function opButton(op, request, label, { cls = "btn-ghost", testid = null, aria = null, disabled = false } = {}) {
  return el("button", { type: "button", class: `btn ${cls}`, "data-op": op, "data-request-id": request.id,
    "data-testid": testid, "aria-label": aria, title: aria, disabled }, label);
}

function queueRow(request, index, state, t, { mode, myUserId }) {
  const mine = Boolean(myUserId) && request.user_id === myUserId;
  const running = QUEUE_STATES.includes(state.meeting.state);
  const who = el("span", { class: "speaker-row-who" },
    el("span", { class: "speaker-row-name" }, request.full_name),
    mine && mode !== "display" ? el("span", { class: "badge speaker-you" }, t.you) : null);
  const meta = el("span", { class: "speaker-row-meta" }, kindBadge(request, t),
    mode !== "display" ? el("span", { class: "speaker-item" }, itemLabel(state, request, t)) : null);
  const row = el("li", { class: `speaker-row${mine ? " is-mine" : ""}`, "data-testid": "speaker-row",
    dataset: { requestId: request.id, kind: request.kind, position: request.position } },
    el("span", { class: "speaker-pos" }, String(request.position)),
    el("span", { class: "speaker-row-body" }, who, meta));
  if (mode === "console") {
    const last = state.speakers.queue.length - 1;
    row.append(el("span", { class: "speaker-row-actions" },
      opButton("grant", request, t.grant, { cls: "btn-success", testid: "speaker-grant",
        aria: fmt(t.grantLabel, { name: request.full_name }), disabled: !GRANT_STATES.includes(state.meeting.state) }),
      opButton("up", request, "↑", { testid: "speaker-up", aria: t.moveUp, disabled: !running || index === 0 }),
      opButton("down", request, "↓", { testid: "speaker-down", aria: t.moveDown, disabled: !running || index === last }),
      opButton("withdraw", request, "✕", { cls: "btn-ghost btn-danger-text", testid: "speaker-withdraw",
        aria: fmt(t.withdrawLabel, { name: request.full_name }), disabled: !running })));
  }
  return row;
}

function drawQueue(list, state, t, opts) {
  const queue = state.speakers.queue;
  const shown = opts.mode === "display" ? queue.slice(0, DISPLAY_NEXT) : queue;
  // Rebuilt only when something shown changed: a tap must not land on a row that is being replaced.
  const key = JSON.stringify([shown, opts.mode, state.meeting.state, opts.myUserId,
    shown.map((r) => r.agenda_item_id && itemLabel(state, r, t))]) + queue.length;
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...shown.map((r, i) => queueRow(r, i, state, t, opts)));
  if (!queue.length) list.append(el("li", { class: "muted speaker-empty" }, t.empty));
  else if (shown.length < queue.length) {
    list.append(el("li", { class: "speaker-more" }, fmt(t.more, { n: queue.length - shown.length })));
  }
}

function drawMine(container, state, t, { myUserId, canRequest }) {
  if (!canRequest) return;
  const mine = state.speakers.queue.filter((r) => myUserId && r.user_id === myUserId);
  const running = QUEUE_STATES.includes(state.meeting.state);
  for (const kind of KINDS) {
    const button = container.querySelector(`[data-testid=speaker-request-${kind}]`);
    if (!button) continue;
    const waiting = mine.some((r) => r.kind === kind);
    button.dataset.op = "request";
    button.setAttribute("aria-pressed", waiting ? "true" : "false");
    button.disabled = waiting || !running;
  }
  const list = container.querySelector("[data-testid=speaker-mine]");
  if (!list) return;
  const key = JSON.stringify([mine.map((r) => [r.id, r.kind, r.position]), running]);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...mine.map((r) => el("li", { class: "speaker-mine-row", dataset: { requestId: r.id } },
    el("span", { class: "speaker-mine-place" }, fmt(t.yourPlace, { kind: t.kinds[r.kind] || r.kind, n: r.position })),
    opButton("withdraw", r, t.withdraw, { cls: "btn-secondary", testid: "speaker-withdraw", disabled: !running }))));
}

/**
 * Draw the section from ``state.speakers`` and wire its buttons (once).
 * @param {HTMLElement} container  the [data-testid=speakers] section of templates/live/_speakers.html
 * @param {object} state           the room's state ({meeting, agenda, speakers, …})
 * @param {object} t               the section's translations ([data-speakers-i18n])
 * @param {object} o
 * @param {"console"|"tablet"|"display"} o.mode
 * @param {number|null} o.myUserId  the viewer (marks "my" requests; null on the display)
 * @param {ServerClock} o.clock
 * @param {Room} [o.room]            to resync when a change's event does not arrive
 * @param {string} [o.url]           /api/v1/meetings/{id}/speakers
 * @param {boolean} [o.canRequest]   the tablet's request buttons are there
 */
export function drawSpeakers(container, state, t, o) {
  if (!container || !state) return;
  const speakers = state.speakers || { current: null, queue: [] };
  const view = { ...state, speakers: { current: speakers.current || null, queue: speakers.queue || [] },
    meeting: state.meeting || {} };
  container._speakers = { state: view, t, o };
  if (!container.dataset.wired) {
    container.dataset.wired = "true";
    container.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-op]");
      if (button && container.contains(button) && !button.disabled) act(container, button);
    });
  }
  const current = view.speakers.current;
  container.dataset.currentId = current ? String(current.id) : "";
  container.dataset.queueLength = String(view.speakers.queue.length);
  if (o.mode === "display") {
    const idle = !current && !view.speakers.queue.length;
    container.dataset.idle = String(idle);
    container.hidden = idle;
  }
  drawCurrent(container.querySelector("[data-testid=speaker-current]"), view, t, o);
  const finish = container.querySelector("[data-testid=speaker-finish]");
  if (finish) {
    finish.dataset.op = "finish";
    finish.dataset.requestId = current ? String(current.id) : "";
    finish.disabled = !current || !FINISH_STATES.includes(view.meeting.state);
  }
  const mineNow = container.querySelector("[data-testid=speaker-mine-now]");
  if (mineNow) mineNow.hidden = !(current && o.myUserId && current.user_id === o.myUserId);
  drawMine(container, view, t, o);
  drawQueue(container.querySelector("[data-testid=speaker-queue]"), view, t, o);
  tickSpeakers(container, o.clock);
}

/** Advance the countdowns (every second). */
export function tickSpeakers(container, clock) {
  const drawn = container && container._speakers;
  if (!drawn) return;
  const current = drawn.state.speakers.current;
  const now = clock ? clock.now() : Date.now();
  container.querySelectorAll("[data-testid=speaker-countdown], [data-mine]").forEach((node) => {
    const mine = node.hasAttribute("data-mine");
    drawCountdown(node, mine && !(current && current.user_id === drawn.o.myUserId) ? null : current, now, drawn.t);
  });
}

async function act(container, button) {
  const { state, t, o } = container._speakers;
  const url = o.url || container.dataset.url;
  const op = button.dataset.op;
  const id = Number(button.dataset.requestId);
  const queue = state.speakers.queue;
  const request = queue.find((r) => r.id === id) || state.speakers.current;
  let call;
  if (op === "request") call = ["POST", url, { kind: button.dataset.kind }];
  else if (op === "grant") call = ["POST", `${url}/${id}/grant`];
  else if (op === "finish") call = ["POST", `${url}/${id}/finish`];
  else if (op === "withdraw") {
    const own = request && o.myUserId && request.user_id === o.myUserId;
    if (!own && !window.confirm(fmt(t.confirmWithdraw, { name: request ? request.full_name : "" }))) return;
    call = ["DELETE", `${url}/${id}`];
  } else if (op === "up" || op === "down") {
    const ids = queue.map((r) => r.id);
    const at = ids.indexOf(id);
    const to = op === "up" ? at - 1 : at + 1;
    if (at < 0 || to < 0 || to >= ids.length) return;
    [ids[at], ids[to]] = [ids[to], ids[at]];
    call = ["PUT", `${url}/order`, { request_ids: ids }];
  } else {
    return;
  }
  const messages = container.querySelector("[data-messages=speakers]");
  const room = o.room || null;
  const before = room ? room.lastSeq : null;
  try {
    await whileBusy(button, () => api(call[0], call[1], call[2], { networkMessage: t.network, failedMessage: t.failed }));
  } catch (err) {
    showMessage(messages, err.message || t.failed, "error");
    return;
  } finally {
    const latest = container._speakers;  // whileBusy re-enabled the button: let the state decide again
    drawSpeakers(container, latest.state, latest.t, latest.o);
  }
  clearMessage(messages);
  // The page redraws from the speakers.updated event; if none came shortly, ask for what was missed.
  if (room) setTimeout(() => { if (room.lastSeq === before) room.resync(); }, 1500);
}

/**
 * Mount the page's section: reads its mode, viewer, API address and translations from the template, and
 * returns {draw(state), tick()} for the page's render() and its one-second tick().
 */
export function mountSpeakers(container, { clock, room = null } = {}) {
  if (!container) return { draw() {}, tick() {} };
  const t = JSON.parse(container.querySelector("[data-speakers-i18n]").textContent);
  const o = {
    mode: container.dataset.mode || "tablet",
    myUserId: Number(container.dataset.userId) || null,
    canRequest: container.dataset.canRequest === "true",
    url: container.dataset.url || "",
    clock,
    room,
  };
  return {
    draw: (state) => drawSpeakers(container, state, t, o),
    tick: () => tickSpeakers(container, clock),
  };
}
