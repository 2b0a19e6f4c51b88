// Votes (biểu quyết) on the live pages. templates/live/_polls.html draws the frame (one [data-testid=polls]
// block per page, with its own translations); this module fills it from state.polls (kept by room.js from the
// snapshot and the poll.opened / poll.tally / poll.closed events).
//
// Wiring — the same on console.js, tablet.js and display.js:
//   template:  {% import "live/_polls.html" as polls_ui with context %}
//              {{ polls_ui.console_polls() }} | {{ polls_ui.tablet_polls() }} | {{ polls_ui.display_polls() }}
//   script:    import { mountPolls } from "./polls.js";
//              let polls = null;                             // next to `let speakers = null`
//              in render(next): if (polls) polls.draw(next);
//              in tick():       if (polls) polls.tick();
//              after `const room = new Room(…)`, before room.start():
//              polls = mountPolls(document.querySelector("[data-testid=polls]"), { clock, room });
//              (the tablet adds userId: data.userId)
//
// Ballots go over the socket (``ballot.cast``, acknowledged after the commit), over REST only while the socket
// is down. Each ballot gets one random idempotency key, kept with its choices and, once acknowledged, its
// receipt in localStorage: a retry (a lost answer, a reload) sends the same key and gets the same receipt, and
// the delegate can check the receipt after the vote. "Recorded" is shown only for an acknowledged ballot.
// Creating, opening and closing go through the REST API; what they change comes back through the events.
import { api, clearMessage, showMessage, whileBusy } from "../http.js";
import { duration, el, findItem, flatItems, fmt } from "./ui.js";

const YES_NO = ["yes", "no", "abstain"];
const RANK = { draft: 0, open: 1, closed: 2 };
const DISPLAY_RECENT_MS = 10 * 60000;  // the display keeps a result up this long after closing
const NEAR_MS = 30000;                 // the countdown's last half minute is drawn in warning colours
const CONSOLE_REFRESH_MS = 30000;      // drafts are not in the events: the console re-reads the list now and then
const STORE = "phonghop.ballots";

const isYesNo = (poll) => (poll.options || []).map((o) => o.key).join() === YES_NO.join();
const labelOf = (poll, key) => ((poll.options || []).find((o) => o.key === key) || { label: key }).label;
const num = (value) => Number(value) || 0;
const ms = (iso) => Date.parse(iso || "");

/** A fresh idempotency key (plain http: crypto.randomUUID and crypto.subtle are not there; this is). */
export function newBallotKey() {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return `b-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The countdown to ``closes_at``: {text, level} ("ok", "near", "up"), or null without a time limit. */
export function pollCountdown(poll, nowMs, t) {
  const closes = ms(poll && poll.state === "open" ? poll.closes_at : null);
  if (!Number.isFinite(closes)) return null;
  const remaining = closes - nowMs;
  if (remaining <= 0) return { text: t.timeUp, level: "up" };
  return { text: fmt(t.left, { time: duration(remaining + 999) }), level: remaining <= NEAR_MS ? "near" : "ok" };
}

/**
 * The rows of a result: every option with its count and its share of the rule's base (the votes cast, the
 * delegates present or all delegates, by weight), and what the base is.
 */
export function resultRows(poll, result) {
  const counts = result.counts || {};
  const weights = result.weights || {};
  let base;
  let baseKey;
  let baseCount;
  let value;
  if (!isYesNo(poll)) {  // an election: the share of the ballots that chose each option
    [base, baseKey, baseCount, value] = [num(result.cast), "cast", num(result.cast), (k) => num(counts[k])];
  } else if (result.rule === "simple") {
    const cast = Object.values(weights).reduce((a, w) => a + num(w), 0);
    [base, baseKey, baseCount, value] = [cast, "cast", num(result.cast), (k) => num(weights[k])];
  } else if (result.rule === "majority_present") {
    [base, baseKey, baseCount, value] = [num(result.eligible_weight), "present", num(result.eligible), (k) => num(weights[k])];
  } else {
    [base, baseKey, baseCount, value] = [num(result.members_weight), "all", num(result.members), (k) => num(weights[k])];
  }
  const rows = (poll.options || []).map((o) => ({
    key: o.key, label: o.label, count: num(counts[o.key]), share: base > 0 ? value(o.key) / base : 0,
  }));
  return { rows, baseKey, baseCount };
}

/** The poll shown on the hall display: the open one, else the latest closed in the last ten minutes. */
export function displayedPoll(polls, nowMs) {
  const open = (polls || []).filter((p) => p.state === "open").sort((a, b) => ms(b.opened_at) - ms(a.opened_at));
  if (open.length) return open[0];
  const recent = (polls || []).filter((p) => p.state === "closed" && nowMs - ms(p.closed_at) < DISPLAY_RECENT_MS)
    .sort((a, b) => ms(b.closed_at) - ms(a.closed_at));
  return recent[0] || null;
}

function percent(share) {
  const lang = document.documentElement.lang || "vi";
  return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(share);
}

function progressOf(poll) {
  const p = poll.progress || {};
  return { cast: num(p.cast), eligible: num(p.eligible ?? poll.eligible), counts: p.counts || null };
}

/** CSS bars: final (a result, with percentages) or running (a named poll's counts while open). */
function drawBars(node, poll, t, { final }) {
  node.replaceChildren();
  let rows;
  let caption = null;
  if (final) {
    const shares = resultRows(poll, poll.result);
    rows = shares.rows.map((r) => ({ ...r, width: r.share, value: `${r.count} · ${percent(r.share)}` }));
    caption = fmt(t.share, { base: t.bases[shares.baseKey], n: shares.baseCount });
  } else {
    const p = progressOf(poll);
    if (!p.counts) return false;
    rows = (poll.options || []).map((o) => {
      const count = num(p.counts[o.key]);
      return { key: o.key, label: o.label, count, width: p.eligible ? count / p.eligible : 0, value: String(count) };
    });
  }
  for (const r of rows) {
    const fill = el("span", { class: "poll-bar-fill" });
    fill.style.width = `${Math.max(0, Math.min(1, r.width)) * 100}%`;
    node.append(el("div", { class: "poll-bar", "data-testid": "poll-bar", dataset: { choice: r.key, count: r.count } },
      el("span", { class: "poll-bar-label" }, r.label),
      el("span", { class: "poll-bar-track" }, fill),
      el("span", { class: "poll-bar-value" }, r.value)));
  }
  if (caption) node.append(el("p", { class: "poll-bars-caption" }, caption));
  return true;
}

function verdictNode(poll, t, tag = "p") {
  const passed = poll.result ? poll.result.passed : null;
  if (passed === null || passed === undefined) return null;
  return el(tag, { class: "poll-verdict", "data-testid": "poll-verdict", dataset: { passed: String(passed) } },
    passed ? t.passed : t.rejected);
}

function pollMeta(poll, state, t) {
  const parts = [poll.secret ? t.secret : t.named];
  const item = findItem(state.agenda && state.agenda.items, poll.agenda_item_id);
  if (item) parts.unshift(fmt(t.item, { number: item.number }));
  if (!isYesNo(poll)) parts.push(fmt(t.upTo, { n: poll.max_choices }));
  else if (poll.rule && t.rules[poll.rule]) parts.push(t.rules[poll.rule]);
  return parts.join(" · ");
}

function countdownNode(poll) {
  if (poll.state !== "open" || !poll.closes_at) return null;
  return el("span", { class: "poll-countdown", "data-testid": "poll-countdown", dataset: { closesAt: poll.closes_at } });
}

const withoutProgress = (poll) => ({ ...poll, progress: undefined });

/**
 * Mount the page's block: reads its mode, API address, viewer and translations from the template, and returns
 * {draw(state), tick()} for the page's render() and its one-second tick().
 * @param {HTMLElement} container  the [data-testid=polls] block of templates/live/_polls.html
 * @param {object} o
 * @param {Room} [o.room]            ballots go over its socket; resync when an event does not come
 * @param {ServerClock} [o.clock]
 * @param {"console"|"tablet"|"display"} [o.mode]  default: the block's data-mode
 * @param {number} [o.userId]        the viewer (whose ballots are whose); default: the block's data-user-id
 * @param {string} [o.base]          /api/v1/meetings/{id}; default: the block's data-url (…/polls) is used
 */
export function mountPolls(container, { room = null, clock = null, mode = null, userId = null, base = null } = {}) {
  if (!container) return { draw() {}, tick() {} };
  const t = JSON.parse(container.querySelector("[data-polls-i18n]").textContent);
  const view = mode || container.dataset.mode || "tablet";
  const me = Number(userId || container.dataset.userId) || null;
  const url = base ? `${base}/polls` : (container.dataset.url || "");
  const now = () => (clock ? clock.now() : Date.now());
  const messages = container.querySelector("[data-messages=polls]");
  const callOpts = { networkMessage: t.network, failedMessage: t.failed };
  let state = null;

  // --- ballots: one entry per (poll, member whose vote it is), mirrored in localStorage ------------------

  const ballots = new Map();
  const touched = new Set();    // ballots acted on in this page: their confirmation stays on screen
  const dismissed = new Set();  // polls whose ballot panel the delegate put aside ("Vote later", "Done")
  const storeKey = (pollId) => `${STORE}.${me || 0}.${pollId}`;

  function stored(pollId) {
    try {
      return JSON.parse(window.localStorage.getItem(storeKey(pollId)) || "{}") || {};
    } catch (err) {
      return {};
    }
  }

  function store(pollId, forUserId, record) {
    try {
      const all = stored(pollId);
      all[forUserId] = record;
      window.localStorage.setItem(storeKey(pollId), JSON.stringify(all));
    } catch (err) {
      // private mode or full: the ballot still works, the receipt is only on screen
    }
  }

  function entry(poll, right) {
    const id = `${poll.poll_id}:${right.for_user_id}`;
    let b = ballots.get(id);
    if (!b) {
      const saved = stored(poll.poll_id)[right.for_user_id] || null;
      b = { id, key: null, choices: [], receipt: null, error: "", selected: new Set(), status: "ready" };
      if (saved && saved.key) {
        Object.assign(b, { key: saved.key, choices: saved.choices || [], receipt: saved.receipt || null });
        // Sent before and never acknowledged (the page was closed meanwhile): send again with the same key.
        b.status = b.receipt ? "recorded" : "error";
        if (!b.receipt) b.error = t.notConfirmed;
      } else if (right.cast) {
        b.status = "elsewhere";
      }
      ballots.set(id, b);
    }
    return b;
  }

  /** The ballots the viewer casts in an open poll: their own first, then the proxies they hold. */
  function myRights(poll) {
    if (!me || !poll || poll.state !== "open") return [];
    const mine = poll.my_ballots || [];
    let rights = (poll.rights || []).filter((r) => r.caster_user_id === me)
      .map((r) => ({ for_user_id: r.for_user_id, full_name: r.full_name, proxy: r.for_user_id !== me, cast: false }));
    if (!rights.length) rights = mine.map((m) => ({ ...m }));
    for (const r of rights) {
      const known = mine.find((m) => m.for_user_id === r.for_user_id);
      if (known) r.cast = Boolean(known.cast);
    }
    return rights.sort((a, b) => Number(a.proxy) - Number(b.proxy) || a.full_name.localeCompare(b.full_name, "vi"));
  }

  const pending = (b) => ["ready", "sending", "error"].includes(b.status);

  async function cast(poll, right, b, choices) {
    if (b.status === "sending" || b.status === "recorded") return;
    if (!b.key) b.key = newBallotKey();
    Object.assign(b, { status: "sending", error: "", choices: [...choices] });
    touched.add(b.id);
    store(poll.poll_id, right.for_user_id, { key: b.key, choices: b.choices, full_name: right.full_name, proxy: right.proxy });
    redraw();
    const body = { idempotency_key: b.key, ...(choices.length === 1 ? { choice: choices[0] } : { choices }) };
    if (right.for_user_id !== me) body.for_user_id = right.for_user_id;
    let ack = null;
    if (room && room.socket && room.socket.connected) ack = await room.emit("ballot.cast", { poll_id: poll.poll_id, ...body });
    if (!ack || (ack.error && ack.error.detail === "offline")) {  // the socket is down: the same ballot over REST
      try {
        ack = await api("POST", `${url}/${poll.poll_id}/ballots`, body, callOpts);
      } catch (err) {
        ack = { error: { status: err.status, detail: err.message } };
      }
    }
    if (ack && ack.receipt) {
      Object.assign(b, { status: "recorded", receipt: ack.receipt, choices: ack.choices || b.choices, error: "" });
      store(poll.poll_id, right.for_user_id, { key: b.key, choices: b.choices, receipt: b.receipt,
        full_name: right.full_name, proxy: right.proxy });
    } else {
      const problem = (ack && ack.error) || {};
      Object.assign(b, { status: "error", error: problem.status ? (problem.detail || problem.title || t.failed) : t.sendFailed });
    }
    redraw();
  }

  function ballotPanel(poll, right, b) {
    const panel = el("div", { class: `ballot${right.proxy ? " is-proxy" : ""}`, "data-testid": "ballot",
      dataset: { pollId: poll.poll_id, forUserId: right.for_user_id, state: b.status }, role: "group",
      "aria-label": right.proxy ? fmt(t.proxyBallot, { name: right.full_name }) : t.yourBallot },
    el("h3", { class: "ballot-heading" }, right.proxy ? fmt(t.proxyBallot, { name: right.full_name }) : t.yourBallot));
    const chosen = () => b.choices.map((k) => labelOf(poll, k)).join(", ");
    if (b.status === "ready" && isYesNo(poll)) {
      panel.append(el("div", { class: "ballot-choices" }, ...poll.options.map((o) => el("button", {
        type: "button", class: `btn ballot-choice ballot-${o.key}`, "data-op": "cast", "data-choice": o.key,
        "data-testid": "ballot-choice" }, o.label))));
    } else if (b.status === "ready") {
      const full = b.selected.size >= poll.max_choices;
      panel.append(
        el("p", { class: "ballot-hint" }, fmt(t.upTo, { n: poll.max_choices })),
        el("div", { class: "ballot-options" }, ...poll.options.map((o) => el("label", { class: "ballot-option" },
          el("input", { type: "checkbox", value: o.key, "data-testid": "ballot-option", checked: b.selected.has(o.key),
            disabled: full && !b.selected.has(o.key) }),
          el("span", {}, o.label)))),
        el("button", { type: "button", class: "btn btn-primary btn-huge btn-block", "data-op": "confirm",
          "data-testid": "ballot-confirm", disabled: b.selected.size === 0 }, t.confirm));
    } else if (b.status === "sending") {
      panel.append(el("p", { class: "ballot-status", role: "status" },
        el("span", { class: "ballot-spinner", "aria-hidden": "true" }), t.sending));
    } else if (b.status === "recorded") {
      panel.append(el("div", { class: "ballot-ok", role: "status" },
        el("span", { class: "ballot-ok-mark", "aria-hidden": "true" }, "✓"),
        el("div", { class: "ballot-ok-text" },
          el("p", { class: "ballot-ok-title", "data-testid": "ballot-recorded" }, t.recorded),
          el("p", {}, fmt(t.yourChoice, { choice: chosen() })),
          el("p", { class: "ballot-receipt", "data-testid": "ballot-receipt", dataset: { receipt: b.receipt } },
            fmt(t.receipt, { receipt: b.receipt })),
          el("p", { class: "hint" }, t.receiptHint))));
    } else if (b.status === "error") {
      panel.append(
        el("p", { class: "ballot-error", "data-testid": "ballot-error", role: "alert" }, b.error || t.sendFailed),
        el("div", { class: "ballot-retry" },
          b.choices.length ? el("button", { type: "button", class: "btn btn-primary btn-huge", "data-op": "retry",
            "data-testid": "ballot-retry" }, t.retry) : null,
          el("button", { type: "button", class: "btn btn-ghost", "data-op": "rechoose", "data-testid": "ballot-rechoose" },
            t.rechoose)));
    } else {
      panel.append(el("p", { class: "ballot-status" }, t.alreadyCast));
    }
    return panel;
  }

  /** Draw the viewer's ballots for ``poll`` into ``list`` (rebuilt only when one of them changed). */
  function drawBallots(list, poll, rights) {
    const items = rights.map((r) => [r, entry(poll, r)]);
    const key = JSON.stringify([poll.poll_id, items.map(([r, b]) => [r.for_user_id, r.full_name, b.status, b.receipt, b.error])]);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.replaceChildren(...items.map(([r, b]) => ballotPanel(poll, r, b)));
  }

  function ballotAction(target) {
    const panel = target.closest("[data-testid=ballot]");
    if (!panel || !state) return false;
    const poll = state.polls.find((p) => p.poll_id === Number(panel.dataset.pollId));
    const right = poll && myRights(poll).find((r) => r.for_user_id === Number(panel.dataset.forUserId));
    if (!right) return false;
    const b = entry(poll, right);
    if (target.matches("input[type=checkbox]")) {
      if (target.checked) b.selected.add(target.value);
      else b.selected.delete(target.value);
      const full = b.selected.size >= poll.max_choices;
      panel.querySelectorAll("input[type=checkbox]").forEach((box) => { box.disabled = full && !box.checked; });
      panel.querySelector("[data-op=confirm]").disabled = b.selected.size === 0;
      return true;
    }
    const op = target.dataset.op;
    if (op === "cast") cast(poll, right, b, [target.dataset.choice]);
    else if (op === "confirm") cast(poll, right, b, poll.options.map((o) => o.key).filter((k) => b.selected.has(k)));
    else if (op === "retry") cast(poll, right, b, b.choices);
    else if (op === "rechoose") {
      b.status = "ready";  // the key stays: if the first ballot did arrive, the server answers with it
      b.error = "";
      redraw();
    } else return false;
    return true;
  }

  // --- receipts after closing ---------------------------------------------------------------------------

  function receiptLinks(poll) {
    const saved = stored(poll.poll_id);
    const own = Object.entries(saved).filter(([, r]) => r && r.receipt)
      .sort(([, a], [, b]) => Number(Boolean(a.proxy)) - Number(Boolean(b.proxy)));
    if (!own.length) return null;
    return el("div", { class: "poll-receipts" }, ...own.map(([forUserId, r]) => el("p", { class: "poll-receipt" },
      el("a", { href: `${url}/${poll.poll_id}/receipts/${encodeURIComponent(r.receipt)}`, class: "btn btn-ghost btn-small",
        "data-testid": "receipt-check", dataset: { receipt: r.receipt, forUserId } },
      r.proxy ? fmt(t.checkProxyReceipt, { name: r.full_name || "" }) : t.checkReceipt),
      el("span", { class: "poll-receipt-code" }, fmt(t.receipt, { receipt: r.receipt })),
      el("span", { class: "poll-receipt-result", "data-testid": "receipt-result", "aria-live": "polite" }))));
  }

  async function checkReceipt(link) {
    const poll = state && state.polls.find((p) => p.poll_id === Number(link.closest("[data-poll-id]").dataset.pollId));
    const out = link.parentElement.querySelector("[data-testid=receipt-result]");
    try {
      const found = await whileBusy(link, () => api("GET", link.getAttribute("href"), undefined, callOpts));
      out.dataset.counted = "true";
      out.textContent = fmt(t.counted, { choice: (found.choices || []).map((k) => (poll ? labelOf(poll, k) : k)).join(", ") });
    } catch (err) {
      out.dataset.counted = "false";
      out.textContent = err.message;
    }
  }

  // --- an open poll's progress: drawn once, then filled in place at every poll.tally ----------------------

  function liveBlock(poll) {
    return el("div", { class: "poll-live", dataset: { live: poll.poll_id } },
      el("div", { class: "poll-progress", "data-testid": "poll-progress" },
        el("span", { class: "poll-progress-text" }), countdownNode(poll)),
      el("div", { class: "poll-meter", "aria-hidden": "true" }, el("span", { class: "poll-meter-fill" })),
      el("div", { class: "poll-bars", "data-testid": "poll-bars", hidden: true }));
  }

  function fillLive(block, poll) {
    if (!block) return;
    const p = progressOf(poll);
    const key = JSON.stringify(p);
    if (block.dataset.key === key) return;
    block.dataset.key = key;
    const progress = block.querySelector("[data-testid=poll-progress]");
    progress.dataset.cast = String(p.cast);
    progress.dataset.eligible = String(p.eligible);
    progress.querySelector(".poll-progress-text").textContent = fmt(t.progress, { cast: p.cast, eligible: p.eligible });
    block.querySelector(".poll-meter-fill").style.width = `${p.eligible ? Math.min(1, p.cast / p.eligible) * 100 : 0}%`;
    const bars = block.querySelector("[data-testid=poll-bars]");
    bars.hidden = !drawBars(bars, poll, t, { final: false });
  }

  // --- the console: prepare, open, close ------------------------------------------------------------------

  const rest = new Map();  // the polls as the REST list gave them (drafts are in no event)
  let lastRefresh = 0;
  let itemTouched = false;

  async function refreshList() {
    lastRefresh = Date.now();
    try {
      const list = await api("GET", url, undefined, callOpts);
      rest.clear();
      for (const p of list.items || []) rest.set(p.poll_id, p);
      redraw();
    } catch (err) {
      // the next refresh or event will do
    }
  }

  function consolePolls() {
    const byId = new Map(rest);
    for (const p of state.polls) {
      const known = byId.get(p.poll_id);
      if (!known || RANK[p.state] >= RANK[known.state]) byId.set(p.poll_id, known ? { ...known, ...p } : p);
    }
    const order = (p) => (p.state === "open" ? 0 : p.state === "draft" ? 1 : 2);
    return [...byId.values()].sort((a, b) => order(a) - order(b)
      || (a.state === "closed" ? b.poll_id - a.poll_id : a.poll_id - b.poll_id));
  }

  function consoleRow(poll, polls) {
    const running = state.meeting.state === "in_session";
    const canRun = container.dataset.canRun === "true";
    const row = el("li", { class: "poll-row", "data-testid": "poll", dataset: { pollId: poll.poll_id, state: poll.state,
      secret: String(poll.secret) } },
    el("div", { class: "poll-row-head" },
      el("span", { class: "poll-row-title" }, poll.title),
      el("span", { class: `badge poll-state poll-state-${poll.state}` }, t.states[poll.state] || poll.state)),
    el("p", { class: "poll-meta" }, pollMeta(poll, state, t)));
    if (poll.state === "draft" && canRun) {
      const another = polls.some((p) => p.state === "open");
      row.append(el("div", { class: "poll-actions" }, el("button", { type: "button", class: "btn btn-success btn-huge btn-block",
        "data-op": "open", "data-testid": "poll-open", dataset: { pollId: poll.poll_id }, disabled: !running || another }, t.open)));
    } else if (poll.state === "open") {
      row.append(liveBlock(poll));
      if (myRights(poll).length) row.append(el("div", { class: "ballot-list ballot-list-console", "data-testid": "ballots" }));
      if (canRun) {
        row.append(el("div", { class: "poll-actions" }, el("button", { type: "button", class: "btn btn-danger btn-huge btn-block",
          "data-op": "close", "data-testid": "poll-close", dataset: { pollId: poll.poll_id } }, t.close)));
      }
    } else if (poll.state === "closed" && poll.result) {
      const verdict = verdictNode(poll, t);
      if (verdict) row.append(verdict);
      const bars = el("div", { class: "poll-bars", "data-testid": "poll-bars" });
      drawBars(bars, poll, t, { final: true });
      row.append(bars);
      const missing = num(poll.result.eligible) - num(poll.result.cast);
      if (missing > 0) row.append(el("p", { class: "hint" }, fmt(t.notVoted, { n: missing })));
      const receipts = receiptLinks(poll);  // the chair votes from the console too
      if (receipts) row.append(receipts);
    }
    return row;
  }

  function drawConsole() {
    const list = container.querySelector("[data-testid=poll-list]");
    const polls = consolePolls();
    // Rebuilt only when a poll changes state (not at every count): a tap must not land on a row being replaced.
    const key = JSON.stringify([polls.map(withoutProgress), state.meeting.state, state.agenda && state.agenda.items]);
    if (list.dataset.key !== key) {
      list.dataset.key = key;
      list.replaceChildren(...polls.map((p) => consoleRow(p, polls)));
      if (!polls.length) list.append(el("li", { class: "muted poll-empty" }, t.noPolls));
    }
    for (const poll of polls.filter((p) => p.state === "open")) {
      const row = list.querySelector(`[data-testid=poll][data-poll-id="${poll.poll_id}"]`);
      if (!row) continue;
      fillLive(row.querySelector("[data-live]"), poll);
      const ballotList = row.querySelector("[data-testid=ballots]");
      if (ballotList) drawBallots(ballotList, poll, myRights(poll));
    }
    drawItemChoice();
  }

  function drawItemChoice() {
    const select = container.querySelector("[data-testid=poll-item]");
    if (!select) return;
    const items = flatItems(state.agenda && state.agenda.items);
    const key = JSON.stringify(items.map(({ item }) => [item.id, item.number, item.title]));
    if (select.dataset.key !== key) {
      select.dataset.key = key;
      const chosen = select.value;
      select.replaceChildren(select.options[0],
        ...items.map(({ item, depth }) => el("option", { value: item.id },
          `${"\u2002".repeat(depth - 1)}${item.number}. ${item.title}`)));
      select.value = chosen;
    }
    if (!itemTouched) select.value = String(state.agenda.current_item_id ?? "");
  }

  function wireConsole() {
    const form = container.querySelector("[data-testid=poll-form]");
    if (form) {
      container.querySelector("[data-testid=poll-item]").addEventListener("change", () => { itemTouched = true; });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const q = (id) => form.querySelector(`[data-testid=${id}]`);
        const title = q("poll-title").value.trim();
        if (!title) {
          showMessage(messages, t.titleNeeded, "error");
          q("poll-title").focus();
          return;
        }
        const options = q("poll-options").value.split("\n").map((s) => s.trim()).filter(Boolean);
        if (options.length === 1) {
          showMessage(messages, t.optionsNeeded, "error");
          return;
        }
        const body = { title, secret: q("poll-secret").checked, allow_change: false,
          max_choices: options.length ? Math.max(1, Math.floor(num(q("poll-max").value)) || 1) : 1 };
        if (options.length) body.options = options;
        if (q("poll-rule").value) body.rule = q("poll-rule").value;
        if (q("poll-item").value) body.agenda_item_id = Number(q("poll-item").value);
        const minutes = num(q("poll-minutes").value);
        if (minutes > 0) body.duration_seconds = Math.max(10, Math.round(minutes * 60));
        try {
          const poll = await whileBusy(q("poll-create"), () => api("POST", url, body, callOpts));
          rest.set(poll.poll_id, poll);
          form.reset();
          itemTouched = false;
          container.querySelector("[data-testid=poll-prepare]").open = false;
          showMessage(messages, t.created, "success");
          redraw();
        } catch (err) {
          showMessage(messages, err.message || t.failed, "error");
        }
      });
    }
    refreshList();
  }

  async function consoleAction(button) {
    const op = button.dataset.op;
    const pollId = Number(button.dataset.pollId);
    if (op === "close") {
      const poll = consolePolls().find((p) => p.poll_id === pollId);
      const p = poll ? progressOf(poll) : { cast: 0, eligible: 0 };
      if (p.cast < p.eligible && !window.confirm(fmt(t.confirmClose, { cast: p.cast, eligible: p.eligible }))) return;
    }
    const before = room ? room.lastSeq : null;
    try {
      const poll = await whileBusy(button, () => api("POST", `${url}/${pollId}/${op}`, undefined, callOpts));
      rest.set(poll.poll_id, poll);
      if (poll.warnings && poll.warnings.length) showMessage(messages, poll.warnings.join(" "), "info");
      else clearMessage(messages);
    } catch (err) {
      showMessage(messages, err.message || t.failed, "error");
    } finally {
      redraw();
    }
    // The page redraws from the poll event; if none came shortly, ask for what was missed.
    if (room) setTimeout(() => { if (room.lastSeq === before) room.resync(); }, 1500);
  }

  // --- the tablet: the card and the ballot panel over the page --------------------------------------------

  const overlay = container.querySelector("[data-testid=ballot-overlay]");

  function drawTablet() {
    const card = container.querySelector("[data-testid=poll-card]");
    const polls = state.polls;
    const open = polls.find((p) => p.state === "open") || null;
    const rights = myRights(open);
    card.hidden = !polls.length;

    // The vote under way: progress, time, the viewer's ballots in short.
    const nowBox = container.querySelector("[data-testid=poll-now]");
    const entries = rights.map((r) => [r, entry(open, r)]);
    const nowKey = JSON.stringify([open && withoutProgress(open), state.agenda && state.agenda.items,
      entries.map(([r, b]) => [r.for_user_id, b.status, b.receipt]), dismissed.has(open && open.poll_id)]);
    if (nowBox.dataset.key !== nowKey) {
      nowBox.dataset.key = nowKey;
      nowBox.replaceChildren();
      nowBox.dataset.pollId = open ? String(open.poll_id) : "";
      if (open) {
        nowBox.append(
          el("p", { class: "live-kicker" }, t.states.open),
          el("p", { class: "poll-row-title" }, open.title),
          el("p", { class: "poll-meta" }, pollMeta(open, state, t)),
          liveBlock(open));
        for (const [r, b] of entries) {
          const who = r.proxy ? fmt(t.proxyBallot, { name: r.full_name }) : t.yourBallot;
          if (b.status === "recorded") {
            nowBox.append(el("p", { class: "poll-mine is-done", "data-testid": "poll-mine", dataset: { state: b.status } },
              `${who}: ${t.recorded} · ${fmt(t.receipt, { receipt: b.receipt })}`));
          } else if (b.status === "elsewhere") {
            nowBox.append(el("p", { class: "poll-mine is-done", "data-testid": "poll-mine", dataset: { state: b.status } },
              `${who}: ${t.alreadyCast}`));
          }
        }
        if (entries.some(([, b]) => pending(b))) {
          nowBox.append(el("button", { type: "button", class: "btn btn-primary btn-huge btn-block", "data-op": "show",
            "data-testid": "ballot-show" }, t.voteNow));
        }
      }
    }
    if (open) fillLive(nowBox.querySelector("[data-live]"), open);

    // The results, latest first, with "check my receipt".
    const list = container.querySelector("[data-testid=poll-list]");
    const closed = polls.filter((p) => p.state === "closed" && p.result).sort((a, b) => ms(b.closed_at) - ms(a.closed_at));
    const listKey = JSON.stringify([closed, state.agenda && state.agenda.items,
      [...ballots.values()].map((b) => [b.id, b.receipt])]);
    if (list.dataset.key !== listKey) {
      list.dataset.key = listKey;
      list.replaceChildren(...closed.map((poll) => {
        const bars = el("div", { class: "poll-bars", "data-testid": "poll-bars" });
        drawBars(bars, poll, t, { final: true });
        return el("li", { class: "poll-row", "data-testid": "poll", dataset: { pollId: poll.poll_id, state: poll.state,
          secret: String(poll.secret) } },
        el("div", { class: "poll-row-head" }, el("span", { class: "poll-row-title" }, poll.title), verdictNode(poll, t, "span")),
        el("p", { class: "poll-meta" }, pollMeta(poll, state, t)),
        bars,
        receiptLinks(poll));
      }));
    }

    // The ballot panel over the page: while a ballot waits, and until "Done" after the last one.
    const show = Boolean(open) && entries.length > 0 && !dismissed.has(open.poll_id)
      && entries.some(([, b]) => pending(b) || touched.has(b.id));
    overlay.hidden = !show;
    overlay.dataset.pollId = show ? String(open.poll_id) : "";
    document.body.classList.toggle("has-ballot", show);
    if (!show) return;
    overlay.querySelector("[data-ballot-title]").textContent = open.title;
    overlay.querySelector("[data-ballot-meta]").replaceChildren(pollMeta(open, state, t), " ", countdownNode(open) || "");
    drawBallots(overlay.querySelector("[data-testid=ballots]"), open, rights);
    const waiting = entries.some(([, b]) => pending(b));
    overlay.querySelector("[data-testid=ballot-later]").hidden = !waiting;
    overlay.querySelector("[data-testid=ballot-done]").hidden = waiting;
    if (overlay.dataset.shown !== String(open.poll_id)) {
      overlay.dataset.shown = String(open.poll_id);
      overlay.querySelector(".ballot-box").focus({ preventScroll: true });
    }
  }

  function wireTablet() {
    overlay.querySelector(".ballot-box").tabIndex = -1;
    const putAside = () => {
      const pollId = Number(overlay.dataset.pollId);
      if (pollId) dismissed.add(pollId);
      redraw();
    };
    overlay.querySelector("[data-testid=ballot-later]").addEventListener("click", putAside);
    overlay.querySelector("[data-testid=ballot-done]").addEventListener("click", putAside);
    overlay.addEventListener("keydown", (event) => { if (event.key === "Escape") putAside(); });
  }

  // --- the hall display ------------------------------------------------------------------------------------

  function drawDisplay() {
    const poll = displayedPoll(state.polls, now());
    container.hidden = !poll;
    document.body.classList.toggle("has-poll", Boolean(poll));
    const key = JSON.stringify([poll, poll && state.agenda && state.agenda.items]);
    if (container.dataset.key === key) return;
    container.dataset.key = key;
    container.dataset.pollId = poll ? String(poll.poll_id) : "";
    container.dataset.state = poll ? poll.state : "";
    container.dataset.secret = poll ? String(poll.secret) : "";
    if (!poll) return;
    const closed = poll.state === "closed" && poll.result;
    container.querySelector("[data-poll-kicker]").textContent = closed ? t.result : t.voting;
    container.querySelector("[data-poll-title]").textContent = poll.title;
    container.querySelector("[data-poll-meta]").textContent = pollMeta(poll, state, t);
    const p = closed ? { cast: num(poll.result.cast), eligible: num(poll.result.eligible) } : progressOf(poll);
    const progress = container.querySelector("[data-testid=poll-progress]");
    progress.dataset.cast = String(p.cast);
    progress.dataset.eligible = String(p.eligible);
    progress.querySelector("[data-poll-cast]").textContent = String(p.cast);
    progress.querySelector("[data-poll-eligible]").textContent = String(p.eligible);
    progress.querySelector(".poll-meter-fill").style.width = `${p.eligible ? Math.min(1, p.cast / p.eligible) * 100 : 0}%`;
    const countdown = progress.querySelector("[data-testid=poll-countdown]");
    if (poll.state === "open" && poll.closes_at) countdown.dataset.closesAt = poll.closes_at;
    else delete countdown.dataset.closesAt;
    countdown.textContent = "";
    const bars = container.querySelector("[data-testid=poll-bars]");
    bars.hidden = !drawBars(bars, poll, t, { final: Boolean(closed) });
    bars.dataset.final = String(Boolean(closed));
    const verdict = container.querySelector("[data-testid=poll-verdict]");
    const passed = closed ? poll.result.passed : null;
    verdict.hidden = passed === null || passed === undefined;
    verdict.dataset.passed = verdict.hidden ? "" : String(passed);
    verdict.textContent = verdict.hidden ? "" : (passed ? t.passed : t.rejected);
  }

  // --- drawing ------------------------------------------------------------------------------------------

  function redraw() {
    if (!state) return;
    if (view === "console") drawConsole();
    else if (view === "display") drawDisplay();
    else drawTablet();
    tick();
  }

  function tick() {
    if (!state) return;
    if (view === "display" && container.dataset.pollId !== String((displayedPoll(state.polls, now()) || {}).poll_id ?? "")) {
      drawDisplay();  // a result leaves the screen ten minutes after closing
    }
    if (view === "console" && Date.now() - lastRefresh > CONSOLE_REFRESH_MS && document.visibilityState !== "hidden") {
      refreshList();
    }
    const at = now();
    container.querySelectorAll("[data-testid=poll-countdown]").forEach((node) => {
      const c = node.dataset.closesAt ? pollCountdown({ state: "open", closes_at: node.dataset.closesAt }, at, t) : null;
      node.textContent = c ? c.text : "";
      node.dataset.level = c ? c.level : "";
    });
  }

  container.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-testid=receipt-check]");
    if (link && container.contains(link)) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;  // the raw answer in another tab
      event.preventDefault();
      checkReceipt(link);
      return;
    }
    const button = event.target.closest("button[data-op]");
    if (!button || !container.contains(button) || button.disabled) return;
    if (button.dataset.op === "show") {
      const open = state && state.polls.find((p) => p.state === "open");
      if (open) dismissed.delete(open.poll_id);
      redraw();
    } else if (button.dataset.op === "open" || button.dataset.op === "close") {
      consoleAction(button);
    } else {
      ballotAction(button);
    }
  });
  container.addEventListener("change", (event) => {
    if (event.target.matches("[data-testid=ballot] input[type=checkbox]")) ballotAction(event.target);
  });
  if (view === "console") wireConsole();
  if (view === "tablet" && overlay) wireTablet();

  return {
    draw(next) {
      state = { ...next, polls: next.polls || [], meeting: next.meeting || {} };
      redraw();
    },
    tick,
  };
}
