// What the three live pages draw alike: the agenda walk, the item timer, times in Vietnam time, the
// connection indicator. The sync rule itself is in room.js.
import { el, fmt } from "../http.js";

export { el, fmt };

const TZ = "Asia/Ho_Chi_Minh";

/** The page's JSON blocks (<script type="application/json" id=…>). */
export function pageData(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

/** The server's clock as seen from here: the page carries the server's time at render. */
export class ServerClock {
  constructor(serverNowIso) {
    const server = Date.parse(serverNowIso);
    this.offset = Number.isFinite(server) ? server - Date.now() : 0;
    // A clock a few hundred milliseconds off (the page's own download) is not worth correcting.
    if (Math.abs(this.offset) < 1500) this.offset = 0;
  }

  now() {
    return Date.now() + this.offset;
  }

  /** Correct against a server time just received (a join ack's ``now``), ignoring sub-second noise. */
  update(serverNowIso) {
    const server = Date.parse(serverNowIso);
    if (!Number.isFinite(server)) return;
    const measured = server - Date.now();
    if (Math.abs(measured - this.offset) > 1000) this.offset = Math.abs(measured) < 1500 ? 0 : measured;
  }

  /**
   * Measure again against the server's Date header, every ``everyMs``: a device whose clock gets corrected
   * while the page stays open (a hall display runs for days) would otherwise be corrected twice.
   */
  keepChecking(url, everyMs = 10 * 60000) {
    const check = async () => {
      try {
        const t0 = Date.now();
        const resp = await fetch(url, { method: "HEAD", cache: "no-store", credentials: "same-origin" });
        const t1 = Date.now();
        const server = Date.parse(resp.headers.get("Date") || "");
        if (!Number.isFinite(server)) return;
        const measured = server + 500 - (t0 + t1) / 2;  // the header has whole seconds
        if (Math.abs(measured - this.offset) > 2000) this.offset = Math.abs(measured) < 1500 ? 0 : measured;
      } catch (err) {
        // offline: keep the last offset
      }
    };
    setInterval(check, everyMs);
  }
}

/** Every agenda item in outline order, with its depth. */
export function flatItems(items, depth = 1, out = []) {
  for (const item of items || []) {
    out.push({ item, depth });
    flatItems(item.children, depth + 1, out);
  }
  return out;
}

export function findItem(items, id) {
  if (id === null || id === undefined) return null;
  const found = flatItems(items).find(({ item }) => item.id === id);
  return found ? found.item : null;
}

/** "mm:ss" (minutes past 59 as such: "90:00" reads better than "1:30:00"), "h:mm:ss" from 100 minutes on. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  const minutes = Math.floor(total / 60);
  if (minutes < 100) return `${pad(minutes)}:${pad(total % 60)}`;
  return `${Math.floor(total / 3600)}:${pad(minutes % 60)}:${pad(total % 60)}`;
}

/**
 * The current item's timer: time under discussion since the chair moved to it (pauses excluded), against its
 * planned minutes.
 * level: "none" (no planned time), "ok", "near" (the last fifth, at most 5 and at least 1 minute), "over".
 */
export function itemTimer(state, nowMs) {
  const agenda = state.agenda || {};
  const meeting = state.meeting || {};
  const item = findItem(agenda.items, agenda.current_item_id);
  const started = Date.parse(agenda.current_item_started_at || "");
  if (!item || !Number.isFinite(started)) return null;
  // A pause stops the clock: count up to the pause, and leave out the item's earlier pauses.
  const pausedAt = Date.parse(meeting.paused_at || "");
  const until = meeting.state === "paused" && Number.isFinite(pausedAt) ? pausedAt : nowMs;
  const elapsed = Math.max(0, until - started - (meeting.current_item_paused_seconds || 0) * 1000);
  const planned = item.planned_minutes ? item.planned_minutes * 60000 : null;
  let level = "none";
  if (planned) {
    const nearWindow = Math.min(5 * 60000, Math.max(60000, planned * 0.2));
    level = elapsed > planned ? "over" : (planned - elapsed <= nearWindow ? "near" : "ok");
  }
  return { item, elapsed, planned, level, remaining: planned ? planned - elapsed : null };
}

const timeFormat = new Intl.DateTimeFormat("vi-VN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });

/** hh:mm in Vietnam time. */
export function clock(ms) {
  return timeFormat.format(new Date(ms));
}

export function localTime(iso) {
  const ms = Date.parse(iso || "");
  return Number.isFinite(ms) ? clock(ms) : "";
}

/** Keep a connection indicator ([data-status] + text) in step with the room's status. */
export function connectionIndicator(node, labels) {
  const text = node.querySelector("[data-conn-text]") || node;
  return (status) => {
    node.dataset.status = status;
    text.textContent = labels[status] || status;
    node.title = labels[status] || status;
  };
}

/** Fill a timer block: [data-timer-elapsed], [data-timer-planned], [data-timer-note]; data-level on the block. */
export function drawTimer(node, timer, t) {
  if (!node) return;
  const part = (name) => node.querySelector(`[data-timer-${name}]`);
  if (!timer) {
    node.hidden = true;
    node.dataset.level = "idle";
    return;
  }
  node.hidden = false;
  node.dataset.level = timer.level;
  part("elapsed").textContent = duration(timer.elapsed);
  part("planned").textContent = timer.planned ? fmt(t.ofPlanned, { planned: duration(timer.planned) }) : "";
  let note = "";
  if (timer.level === "over") note = fmt(t.over, { time: duration(-timer.remaining) });
  else if (timer.level === "near" || timer.level === "ok") note = fmt(t.left, { time: duration(timer.remaining) });
  part("note").textContent = note;
}

/** A fresh socket ticket from the session cookie (a page can stay open longer than a ticket lives). */
export async function fetchTicket(url) {
  try {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) return null;
    const data = await resp.json();
    return typeof data.token === "string" ? data.token : null;
  } catch (err) {
    return null;
  }
}

/** The page's "ended" overlay, showing the paragraph of the reason. */
export function showEnded(reason) {
  const box = document.querySelector("[data-testid=live-ended]");
  if (!box) return;
  box.querySelectorAll("[data-ended]").forEach((p) => { p.hidden = p.dataset.ended !== reason; });
  box.dataset.reason = reason;
  box.hidden = false;
}

function itemMeta(item, t) {
  const meta = [];
  if (item.presenter) meta.push(el("span", {}, item.presenter));
  if (item.planned_minutes) meta.push(el("span", {}, fmt(t.minutes, { n: item.planned_minutes })));
  return meta.length ? el("span", { class: "live-meta" }, ...meta) : null;
}

/**
 * Draw the agenda outline into ``list`` (an <ol>); rebuilt only when the items changed. With ``pick`` every
 * row is a button (the chair's console) calling pick(itemId).
 */
export function drawAgenda(list, state, t, { pick = null } = {}) {
  const items = (state.agenda && state.agenda.items) || [];
  const key = JSON.stringify(items) + (pick ? "+pick" : "");
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    const build = (nodes, depth) => nodes.map((item) => {
      const body = el("span", { class: "live-body" },
        el("span", { class: "live-title" }, item.title), itemMeta(item, t));
      const number = el("span", { class: "live-number" }, `${item.number}.`);
      const row = pick
        ? el("button", { type: "button", class: "live-row live-pick", "data-pick": item.id }, number, body)
        : el("div", { class: "live-row" }, number, body);
      const li = el("li", { class: `live-item depth-${depth}`, dataset: { itemId: item.id, number: item.number } }, row);
      if (item.children && item.children.length) {
        li.append(el("ol", { class: "live-outline" }, ...build(item.children, depth + 1)));
      }
      return li;
    });
    list.replaceChildren(...build(items, 1));
    if (!items.length) list.append(el("li", { class: "muted live-empty" }, t.noItems));
    if (pick) {
      list.querySelectorAll("[data-pick]").forEach((button) => {
        button.addEventListener("click", () => pick(Number(button.dataset.pick), button));
      });
    }
    list.dataset.current = "";
  }
  const current = state.agenda.current_item_id;
  const changed = list.dataset.current !== String(current ?? "");
  list.dataset.current = String(current ?? "");
  list.querySelectorAll(".live-item").forEach((li) => {
    const on = Number(li.dataset.itemId) === current;
    li.classList.toggle("is-current", on);
    const row = li.querySelector(":scope > .live-row");
    if (on) {
      li.setAttribute("aria-current", "step");
      if (!row.querySelector(".badge-current")) row.append(el("span", { class: "badge badge-current" }, t.current));
    } else {
      li.removeAttribute("aria-current");
      row.querySelector(".badge-current")?.remove();
    }
  });
  return changed ? list.querySelector(".live-item.is-current") : null;
}

/** Scroll an item into view (the middle by default), smoothly unless it is the first drawing. */
export function reveal(node, { instant = false, block = "center" } = {}) {
  if (!node) return;
  node.scrollIntoView({ block, behavior: instant ? "auto" : "smooth" });
}

/** Draw the sessions; ``controls(session)`` may return buttons for a row (the console). */
export function drawSessions(list, state, t, { controls = null } = {}) {
  const rows = (state.sessions || []).map((s) => {
    const when = [];
    if (s.opened_at) when.push(fmt(t.openedAt, { time: localTime(s.opened_at) }));
    if (s.closed_at) when.push(fmt(t.closedAt, { time: localTime(s.closed_at) }));
    return el("li", { class: "live-session", dataset: { sessionId: s.session_id, state: s.state } },
      el("span", { class: "live-session-main" },
        el("strong", {}, s.title),
        el("span", { class: `badge badge-session-${s.state}` }, t.sessionStates[s.state] || s.state),
        when.length ? el("span", { class: "muted live-session-when" }, when.join(" · ")) : null),
      controls ? controls(s) : null);
  });
  list.replaceChildren(...rows);
  if (!rows.length) list.append(el("li", { class: "muted" }, t.noSessions));
}

/** The "under discussion" block: [data-now-item] with number/title/presenter, or [data-now-empty]. */
export function drawNow(section, state, t) {
  const item = findItem(state.agenda.items, state.agenda.current_item_id);
  section.dataset.itemId = item ? String(item.id) : "";
  section.dataset.number = item ? item.number : "";
  section.querySelector("[data-now-item]").hidden = !item;
  section.querySelector("[data-now-empty]").hidden = !!item;
  if (!item) return;
  section.querySelector("[data-now-number]").textContent = item.number;
  section.querySelector("[data-now-title]").textContent = item.title;
  const presenter = section.querySelector("[data-now-presenter]");
  if (presenter) presenter.textContent = item.presenter || "";
}

/** The meeting state banner (data-state drives its colour). */
export function drawBanner(banner, state, t) {
  const s = state.meeting.state;
  banner.dataset.state = s;
  banner.querySelector("[data-banner-label]").textContent = (t.banner && t.banner[s]) || t.states[s] || s;
  const title = banner.querySelector("[data-meeting-title]");
  if (title && state.meeting.title) title.textContent = state.meeting.title;
}
