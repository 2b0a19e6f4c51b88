// Attendance on the live pages, drawn from the room's state (room.js): ``state.attendance`` (the current
// session's roll calls and counts, for everyone), ``state.quorum`` and ``state.my_attendance`` (the viewer's own
// record, kept current by attendance.mine events). Writes go through the REST API; what they change comes back
// as events, so every tablet and the console agree.
//
//   tablet:  const att = tabletAttendance(document.querySelector("[data-testid=attendance]"), base, {userId});
//            … in render(state): att.draw(state);
//   console: const att = consoleAttendance(document.querySelector("[data-testid=console-attendance]"), base);
//   display: const att = displayAttendance(document.querySelector("[data-testid=display-rollcall]"), base, token);
import { api, fmt } from "../http.js";
import { localTime } from "./ui.js";

const texts = () => JSON.parse(document.getElementById("attendance-i18n").textContent);

function sessionTitle(state) {
  const att = state.attendance;
  const session = att && (state.sessions || []).find((s) => s.session_id === att.session_id);
  return session ? session.title : "";
}

function drawQuorum(node, q, t, { short = false } = {}) {
  if (!node) return;
  node.hidden = !q;
  if (!q) return;
  node.dataset.hasQuorum = String(q.has_quorum);
  const values = { counted: q.counted, members: q.members, required: q.required };
  const text = short ? (q.has_quorum ? t.quorumShortOk : t.quorumShortLost) : (q.has_quorum ? t.quorumOk : t.quorumLost);
  const target = node.querySelector("[data-q-text]") || node;
  target.textContent = fmt(text, values);
  const counted = node.querySelector("[data-q-counted]");
  if (counted) counted.textContent = String(q.counted);
  const members = node.querySelector("[data-q-members]");
  if (members) members.textContent = String(q.members);
}

/** The delegate's strip: "I am present", the room code, leaving, proxies, quorum. */
export function tabletAttendance(root, base, { userId } = {}) {
  const t = texts();
  const q = (id) => root.querySelector(`[data-testid=${id}]`);
  const message = root.querySelector("[data-att-message]");
  const dialog = document.querySelector("[data-testid=proxy-dialog]");
  let state = null;

  async function send(path, body, button) {
    message.textContent = "";
    if (button) button.disabled = true;
    try {
      const out = await api("POST", base + path, body, { networkMessage: t.network, failedMessage: t.failed });
      message.textContent = out.message || "";
      message.dataset.kind = "ok";
      return out;
    } catch (err) {
      message.textContent = err.message;
      message.dataset.kind = "error";
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  q("check-in").addEventListener("click", (e) => send("/attendance/check-in",
    { session_id: state.attendance.session_id, method: "tablet" }, e.currentTarget));
  q("code-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = q("code-input");
    const code = input.value.replace(/\D/g, "");
    const out = await send("/attendance/check-in", { session_id: state.attendance.session_id, method: "qr", code },
                           e.submitter);
    if (out) input.value = "";
  });
  q("check-out").addEventListener("click", (e) => send("/attendance/check-out",
    { session_id: state.attendance.session_id }, e.currentTarget));
  q("proxy-open").addEventListener("click", () => {
    dialog.querySelector("[data-proxy-message]").textContent = "";
    dialog.showModal();
  });
  q("proxy-withdraw").addEventListener("click", async (e) => {
    const proxy = state.my_attendance && state.my_attendance.proxy;
    if (!proxy) return;
    e.currentTarget.disabled = true;
    try {
      await api("DELETE", `${base}/proxies/${proxy.id}`, undefined, { networkMessage: t.network, failedMessage: t.failed });
      message.textContent = "";
    } catch (err) {
      message.textContent = err.message;
    } finally {
      e.currentTarget.disabled = false;
    }
  });
  dialog.querySelector("[data-proxy-form]").addEventListener("submit", async (e) => {
    if (e.submitter && e.submitter.value !== "give") return;
    e.preventDefault();
    const holder = Number(dialog.querySelector("[data-testid=proxy-holder]").value);
    try {
      await api("POST", `${base}/proxies`, { session_id: state.attendance.session_id, holder_user_id: holder },
                { networkMessage: t.network, failedMessage: t.failed });
      dialog.close();
    } catch (err) {
      dialog.querySelector("[data-proxy-message]").textContent = err.message;
    }
  });
  // The holder list leaves out the viewer (they cannot hold their own vote).
  const holderSelect = dialog.querySelector("[data-testid=proxy-holder]");

  return {
    draw(next) {
      state = next;
      const att = state.attendance;
      const mine = state.my_attendance;
      root.hidden = !att || !mine;
      if (root.hidden) return;
      const open = att.open_roll_call;
      const present = Boolean(mine.checked_in_at && !mine.checked_out_at);
      const needed = (open === "start" && !present) || (open === "end" && !mine.confirmed_at);
      const session = sessionTitle(state);
      root.dataset.state = needed ? `needed-${open}` : (present ? "present" : (mine.checked_out_at ? "left" : "none"));
      root.querySelector("[data-att-title]").textContent = needed
        ? fmt(open === "end" ? t.endOpen : t.startOpen, { session }) : fmt(t.session, { session });
      const lines = [];
      if (mine.checked_out_at) lines.push(fmt(t.leftAt, { time: localTime(mine.checked_out_at) }));
      else if (mine.confirmed_at) lines.push(fmt(t.confirmedAt, { time: localTime(mine.confirmed_at) }));
      else if (mine.checked_in_at) lines.push(fmt(t.presentSince, { time: localTime(mine.checked_in_at) }));
      else lines.push(t.notYet);
      if (mine.proxy) lines.push(fmt(t.proxyTo, { name: mine.proxy.holder_name }));
      if (mine.proxies_held && mine.proxies_held.length) lines.push(fmt(t.holding, { n: mine.proxies_held.length }));
      root.querySelector("[data-att-status]").textContent = lines.join(" · ");
      q("check-in").hidden = !needed;
      q("code-form").hidden = !needed;
      q("check-out").hidden = !present || open === "end";
      q("proxy-open").hidden = !mine.can_vote || present || Boolean(mine.proxy);
      q("proxy-withdraw").hidden = !mine.proxy;
      for (const option of holderSelect.options) option.hidden = Number(option.value) === userId;
      drawQuorum(q("quorum"), state.quorum, t);
    },
  };
}

/** The chair's card: roll-call buttons for the open session, counts and the quorum, red when lost. */
export function consoleAttendance(root, base, { onError } = {}) {
  const t = texts();
  const buttons = root.querySelector("[data-testid=roll-call-buttons]");
  let state = null;

  async function act(path, button) {
    button.disabled = true;
    try {
      await api("POST", base + path, undefined, { networkMessage: t.network, failedMessage: t.failed });
    } catch (err) {
      if (onError) onError(err.message);
    } finally {
      button.disabled = false;
    }
  }

  return {
    draw(next) {
      state = next;
      const att = state.attendance;
      const session = (state.sessions || []).find((s) => att && s.session_id === att.session_id);
      const live = session && session.state === "open" && ["in_session", "paused"].includes(state.meeting.state);
      root.querySelector("[data-att-session]").textContent = session ? fmt(t.session, { session: session.title }) : t.noSession;
      drawQuorum(root.querySelector("[data-testid=quorum]"), state.quorum, t, { short: true });
      root.querySelector("[data-att-counts]").textContent = att
        ? fmt(t.counts, { in: att.checked_in - att.left, left: att.left, end: att.confirmed }) : "";
      const calls = (att && att.roll_calls) || {};
      const wanted = [];
      if (live) {
        if (calls.start && calls.start.open) wanted.push(["start", "close", t.closeStart, "btn-warning"]);
        else if (!calls.end || !calls.end.open) wanted.push(["start", "open", t.openStart, calls.start ? "btn-secondary" : "btn-success"]);
        if (calls.end && calls.end.open) wanted.push(["end", "close", t.closeEnd, "btn-warning"]);
        else if (calls.start) wanted.push(["end", "open", t.openEnd, "btn-secondary"]);
      }
      const key = wanted.map((w) => w.slice(0, 2).join(":")).join(",");
      if (buttons.dataset.key === key) return;
      buttons.dataset.key = key;
      buttons.replaceChildren(...wanted.map(([kind, op, label, style]) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = `btn ${style}`;
        b.textContent = label;
        b.dataset.rollCall = `${kind}-${op}`;
        b.addEventListener("click", () => act(`/sessions/${att.session_id}/roll-calls/${kind}/${op}`, b));
        return b;
      }));
    },
  };
}

/** The hall screen: while a roll call is open, the rotating room code as digits and QR; the quorum. */
export function displayAttendance(root, base, token) {
  const t = texts();
  const quorumNode = document.querySelector(".display-quorum[data-testid=quorum]");
  let timer = null;
  let openKey = null;
  let expiresAt = 0;

  async function fetchCode() {
    clearTimeout(timer);
    let next = 5000;
    try {
      const resp = await fetch(`${base}/attendance/qr`, { headers: { Authorization: `Bearer ${token}` } });
      if (resp.ok) {
        const qr = await resp.json();
        root.querySelector("[data-testid=room-code]").textContent = `${qr.code.slice(0, 3)} ${qr.code.slice(3)}`;
        root.querySelector("[data-testid=qr-image]").src = qr.svg;
        root.dataset.code = qr.code;
        expiresAt = Date.now() + qr.expires_in * 1000;
        next = qr.expires_in * 1000 + 300;
      }
    } catch (err) {
      next = 5000;
    }
    if (openKey) timer = setTimeout(fetchCode, next);
  }

  setInterval(() => {
    if (!openKey) return;
    const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    root.querySelector("[data-code-expires]").textContent = fmt(t.codeChanges, { n: left });
  }, 1000);

  return {
    draw(state) {
      const att = state.attendance;
      const key = att && att.open_roll_call ? `${att.session_id}:${att.open_roll_call}` : null;
      drawQuorum(quorumNode, state.quorum, t);
      if (key === openKey) return;
      openKey = key;
      root.hidden = !key;
      document.body.classList.toggle("has-rollcall", Boolean(key));
      if (key) {
        root.querySelector("[data-rollcall-title]").textContent =
          fmt(att.open_roll_call === "end" ? t.endOpen : t.startOpen, { session: sessionTitle(state) });
        fetchCode();
      } else {
        clearTimeout(timer);
        delete root.dataset.code;
      }
    },
  };
}
