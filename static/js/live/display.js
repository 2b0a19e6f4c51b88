// The hall display (projector): no login, the display token is the socket's key. Left open for days, it
// reconnects by itself (room.js) and keeps trying, slowly, even after a refusal.
import { displayAttendance } from "./attendance.js";
import { Room } from "./room.js";
import { mountPolls } from "./polls.js";
import { mountSpeakers } from "./speakers.js";
import {
  ServerClock, clock as hhmm, connectionIndicator, drawBanner, drawNow, drawTimer, itemTimer, pageData,
} from "./ui.js";

const data = pageData("live-data");
const t = pageData("live-i18n");
const clock = new ServerClock(data.serverNow);
clock.keepChecking(data.clockUrl);
const root = document.getElementById("live");
const banner = document.querySelector("[data-testid=state-banner]");
const now = document.querySelector("[data-testid=current-item]");
const timer = document.querySelector("[data-testid=item-timer]");
const clockFace = document.querySelector("[data-testid=display-clock]");
const refused = document.querySelector("[data-testid=display-refused]");
let state = null;
let speakers = null;
let polls = null;
const attendance = displayAttendance(document.querySelector("[data-testid=display-rollcall]"),
                                     `/api/v1/meetings/${data.meetingId}`, data.token);

function tick() {
  clockFace.textContent = hhmm(clock.now());
  if (state) drawTimer(timer, state.meeting.state === "adjourned" ? null : itemTimer(state, clock.now()), t);
  if (speakers) speakers.tick();
  if (polls) polls.tick();
}

function render(next) {
  state = next;
  root.dataset.meetingState = state.meeting.state;
  root.dataset.currentItemId = String(state.agenda.current_item_id ?? "");
  root.dataset.lastSeq = String(room.lastSeq);
  drawBanner(banner, state, t);
  drawNow(now, state, t);
  attendance.draw(state);
  if (speakers) speakers.draw(state);
  if (polls) polls.draw(state);
  tick();
}

const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const showStatus = connectionIndicator(document.querySelector("[data-testid=connection]"), t.status);

const room = new Room({
  clock,
  meetingId: data.meetingId,
  initial: data.initial,
  token: data.token,
  // A refusal means the link was revoked (or the server is in trouble): say so, and try again in a minute.
  refreshToken: async () => { await wait(60000); return data.token; },
  maxRefusals: Infinity,
  onRefused: () => { refused.hidden = false; },
  onChange: render,
  onStatus: (status) => {
    showStatus(status);
    if (status === "connected") refused.hidden = true;
  },
});
speakers = mountSpeakers(document.querySelector("[data-testid=speakers]"), { clock, room });
polls = mountPolls(document.querySelector("[data-testid=polls]"), { clock, room });
room.start();
setInterval(tick, 1000);
