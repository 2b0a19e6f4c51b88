// The delegate's tablet: follows the meeting (state, current item, timer, sessions) through room.js.
import { tabletAttendance } from "./attendance.js";
import { Follow, documentListRefresher } from "./follow.js";
import { Room } from "./room.js";
import { mountPolls } from "./polls.js";
import { mountSpeakers } from "./speakers.js";
import {
  ServerClock, connectionIndicator, drawAgenda, drawBanner, drawNow, drawSessions, drawTimer, fetchTicket, itemTimer,
  pageData, reveal, showEnded,
} from "./ui.js";

const data = pageData("live-data");
const t = pageData("live-i18n");
const clock = new ServerClock(data.serverNow);
clock.keepChecking(data.clockUrl);
const root = document.getElementById("live");
const banner = document.querySelector("[data-testid=state-banner]");
const now = document.querySelector("[data-testid=current-item]");
const timer = document.querySelector("[data-testid=item-timer]");
const agenda = document.getElementById("live-agenda");
const sessions = document.getElementById("live-sessions");
const documents = document.querySelector("[data-testid=live-documents]");
let state = null;

const refreshDocuments = documentListRefresher(documents);
const attendance = tabletAttendance(document.querySelector("[data-testid=attendance]"),
                                    `/api/v1/meetings/${data.meetingId}`, { userId: data.userId });

function tick() {
  if (state) drawTimer(timer, state.meeting.state === "adjourned" ? null : itemTimer(state, clock.now()), t);
  if (speakers) speakers.tick();
  if (polls) polls.tick();
}

function render(next, info) {
  state = next;
  root.dataset.meetingState = state.meeting.state;
  root.dataset.currentItemId = String(state.agenda.current_item_id ?? "");
  root.dataset.lastSeq = String(room.lastSeq);
  drawBanner(banner, state, t);
  drawNow(now, state, t);
  const moved = drawAgenda(agenda, state, t);
  reveal(moved, { instant: Boolean(info && info.initial) });
  drawSessions(sessions, state, t);
  if (follow) follow.update(state.view);
  attendance.draw(state);
  if (speakers) speakers.draw(state);
  if (polls) polls.draw(state);
  tick();
}
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
polls = mountPolls(document.querySelector("[data-testid=polls]"), { clock, room, userId: data.userId });
follow.update(room.state.view);
room.start();
setInterval(tick, 1000);
