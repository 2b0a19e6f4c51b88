// The chair's console: state buttons, the current agenda item, sessions. Requests go through the REST API;
// what the page shows comes back through the socket (room.js), so two consoles (or a console and the meeting
// page) always agree. A request whose event has not arrived shortly after triggers a resync.
import { api, showMessage, whileBusy } from "../http.js";
import { consoleAttendance } from "./attendance.js";
import { Follow, documentListRefresher } from "./follow.js";
import { Room } from "./room.js";
import { mountPolls } from "./polls.js";
import { mountSpeakers } from "./speakers.js";
import {
  ServerClock, connectionIndicator, drawAgenda, drawBanner, drawNow, drawSessions, drawTimer, el, fetchTicket, fmt,
  flatItems, itemTimer, pageData, reveal, showEnded,
} from "./ui.js";

const data = pageData("live-data");
const t = pageData("live-i18n");
const clock = new ServerClock(data.serverNow);
clock.keepChecking(data.clockUrl);
const base = `/api/v1/meetings/${data.meetingId}`;
const root = document.getElementById("live");
const banner = document.querySelector("[data-testid=state-banner]");
const actions = document.querySelector("[data-testid=console-actions]");
const now = document.querySelector("[data-testid=current-item]");
const timer = document.querySelector("[data-testid=item-timer]");
const nextButton = document.querySelector("[data-testid=next-item]");
const agenda = document.getElementById("live-agenda");
const sessions = document.getElementById("live-sessions");
const messages = document.querySelector("[data-messages=console]");
const RUNNING = ["in_session", "paused"];
const ACTION_STYLE = { start: "btn-success", pause: "btn-warning", resume: "btn-primary", adjourn: "btn-danger" };
let state = null;

/** Send a change; the page redraws from its event. If none came within 1.5 s, ask for what was missed. */
async function send(method, path, body, control) {
  const before = room.lastSeq;
  try {
    await whileBusy(control, () => api(method, base + path, body, { networkMessage: t.network, failedMessage: t.failed }));
  } catch (err) {
    showMessage(messages, err.message || t.failed, "error");
    return;
  } finally {
    if (state) render(room.state, {});  // whileBusy re-enabled the control: let the state decide again
  }
  messages.replaceChildren();
  setTimeout(() => { if (room.lastSeq === before) room.resync(); }, 1500);
}

function drawActions() {
  const allowed = data.actionsByState[state.meeting.state] || [];
  const key = allowed.join(",");
  if (actions.dataset.key === key) return;
  actions.dataset.key = key;
  actions.replaceChildren(...allowed.map((action) => {
    const button = el("button", { type: "button", class: `btn btn-huge ${ACTION_STYLE[action] || "btn-secondary"}`,
      "data-action": action }, t.actions[action] || action);
    button.addEventListener("click", () => {
      if (action === "adjourn" && !window.confirm(t.confirmAdjourn)) return;
      send("POST", "/transitions", { action }, button);
    });
    return button;
  }));
}

function sessionControls(session) {
  const running = RUNNING.includes(state.meeting.state);
  if (session.state === "planned") {
    const button = el("button", { type: "button", class: "btn btn-secondary", "data-session-op": "open",
      "aria-label": fmt(t.openSessionLabel, { title: session.title }),
      disabled: state.meeting.state !== "in_session" }, t.openSession);
    button.addEventListener("click", () => send("POST", `/sessions/${session.session_id}/open`, undefined, button));
    return button;
  }
  if (session.state === "open") {
    const button = el("button", { type: "button", class: "btn btn-ghost", "data-session-op": "close",
      "aria-label": fmt(t.closeSessionLabel, { title: session.title }), disabled: !running }, t.closeSession);
    button.addEventListener("click", () => send("POST", `/sessions/${session.session_id}/close`, undefined, button));
    return button;
  }
  return null;
}

function pick(itemId, button) {
  if (!RUNNING.includes(state.meeting.state) || itemId === state.agenda.current_item_id) return;
  send("PUT", "/agenda/current", { item_id: itemId }, button);
}

function nextItem() {
  const order = flatItems(state.agenda.items).map(({ item }) => item.id);
  const at = order.indexOf(state.agenda.current_item_id);
  return at + 1 < order.length ? order[at + 1] : null;
}

nextButton.addEventListener("click", () => {
  const next = nextItem();
  if (next !== null) send("PUT", "/agenda/current", { item_id: next }, nextButton);
});

function tick() {
  if (state) drawTimer(timer, state.meeting.state === "adjourned" ? null : itemTimer(state, clock.now()), t);
  if (speakers) speakers.tick();
  if (polls) polls.tick();
}

function render(next, info) {
  state = next;
  const running = RUNNING.includes(state.meeting.state);
  root.dataset.meetingState = state.meeting.state;
  root.dataset.currentItemId = String(state.agenda.current_item_id ?? "");
  root.dataset.lastSeq = String(room.lastSeq);
  drawBanner(banner, state, t);
  drawActions();
  drawNow(now, state, t);
  const moved = drawAgenda(agenda, state, t, { pick });
  agenda.querySelectorAll("[data-pick]").forEach((b) => { b.disabled = !running; });
  // Only as far as needed: the list must not jump away under the chair's finger right after a tap.
  reveal(moved, { instant: Boolean(info && info.initial), block: info && info.initial ? "center" : "nearest" });
  drawSessions(sessions, state, t, { controls: sessionControls });
  nextButton.disabled = !running || nextItem() === null;
  if (follow) follow.update(state.view);
  attendance.draw(state);
  if (speakers) speakers.draw(state);
  if (polls) polls.draw(state);
  tick();
}
const documents = document.querySelector("[data-testid=live-documents]");
const refreshDocuments = documentListRefresher(documents);
const attendance = consoleAttendance(document.querySelector("[data-testid=console-attendance]"), base,
                                     { onError: (text) => showMessage(messages, text, "error") });
let follow = null;
let speakers = null;
let polls = null;

const room = new Room({
  clock,
  meetingId: data.meetingId,
  initial: data.initial,
  token: data.token,
  refreshToken: () => fetchTicket(data.ticketUrl),
  onChange: (next, info) => {
    render(next, info);
    if (info && info.snapshot && !info.initial) refreshDocuments();  // after a resync: events may be missing
  },
  onEvent: (type) => { if (type.startsWith("document.")) refreshDocuments(); },
  onStatus: connectionIndicator(document.querySelector("[data-testid=connection]"), t.status),
  onEnded: showEnded,
});
follow = new Follow({ room, meetingId: data.meetingId, list: documents });
speakers = mountSpeakers(document.querySelector("[data-testid=speakers]"), { clock, room });
polls = mountPolls(document.querySelector("[data-testid=polls]"), { clock, room });
follow.update(room.state.view);
room.start();
setInterval(tick, 1000);
