// The secretary's editor: agenda (drag-and-drop with nesting), participants, roster import, sessions.
// Every change goes through the REST API; the server's answer is what gets drawn, never a local guess.
import { api, clearMessage, el, fmt, showMessage, whileBusy } from "./http.js";

const data = JSON.parse(document.getElementById("editor-data").textContent);
const t = JSON.parse(document.getElementById("editor-i18n").textContent);
const base = `/api/v1/meetings/${data.meetingId}`;
const apiOptions = { networkMessage: t.network, failedMessage: t.failed };
const call = (method, path, body) => api(method, base + path, body, apiOptions);

const messages = (name) => document.querySelector(`[data-messages="${name}"]`);
const setCount = (name, n) => {
  const node = document.querySelector(`[data-count="${name}"]`);
  if (node) node.textContent = String(n);
};
const setEmpty = (name, empty) => {
  const node = document.querySelector(`[data-empty="${name}"]`);
  if (node) node.hidden = !empty;
};

/** Explain a failed request where the user is looking; a 422 roster report also fills its table. */
function reportError(area, err) {
  showMessage(area, err.message || t.failed, "error");
}

// --- agenda -------------------------------------------------------------------------------------------------

const agendaRoot = document.getElementById("agenda-tree");
const agendaArea = messages("agenda");
let agenda = data.agenda;
let sortables = [];

function countItems(items) {
  return items.reduce((n, item) => n + 1 + countItems(item.children || []), 0);
}

function subtreeHeight(li) {
  const childList = li.querySelector(":scope > .agenda-tree");
  const children = childList ? [...childList.children] : [];
  return 1 + Math.max(0, ...children.map(subtreeHeight));
}

function itemNode(item, depth) {
  const meta = [];
  if (item.presenter) meta.push(el("span", {}, item.presenter));
  if (item.planned_minutes) meta.push(el("span", {}, fmt(t.minutes, { n: item.planned_minutes })));
  const handle = el("button", {
    type: "button", class: "drag-handle", "aria-label": fmt(t.drag, { title: item.title }),
    title: fmt(t.drag, { title: item.title }), "data-testid": "drag-handle",
  }, el("span", { "aria-hidden": "true" }, "⠿"));
  const actions = el("div", { class: "agenda-actions" },
    el("button", { type: "button", class: "btn btn-small btn-ghost", "data-op": "edit" }, t.edit),
    depth < data.maxDepth
      ? el("button", { type: "button", class: "btn btn-small btn-ghost", "data-op": "add-sub" }, t.addSub) : null,
    el("button", { type: "button", class: "btn btn-small btn-ghost btn-danger-text", "data-op": "delete" }, t.delete));
  const row = el("div", { class: "agenda-row" },
    handle,
    el("span", { class: "agenda-number", "data-testid": "agenda-number" }, `${item.number}.`),
    el("div", { class: "agenda-main" },
      el("span", { class: "agenda-title", "data-testid": "agenda-title" }, item.title),
      meta.length ? el("span", { class: "agenda-meta" }, ...meta) : null,
      item.description ? el("span", { class: "agenda-desc" }, item.description) : null),
    actions);
  const li = el("li", { class: `agenda-node depth-${depth}`, dataset: { id: item.id, depth } }, row);
  if (depth < data.maxDepth) {
    const list = el("ol", { class: "agenda-tree", dataset: { depth: depth + 1 } });
    (item.children || []).forEach((child) => list.append(itemNode(child, depth + 1)));
    li.append(list);
  }
  return li;
}

function findItem(id, items = agenda.items) {
  for (const item of items) {
    if (item.id === id) return item;
    const found = findItem(id, item.children || []);
    if (found) return found;
  }
  return null;
}

function renderAgenda(next, focusId) {
  agenda = next;
  sortables.forEach((s) => s.destroy());
  sortables = [];
  agendaRoot.replaceChildren(...agenda.items.map((item) => itemNode(item, 1)));
  const total = countItems(agenda.items);
  setCount("agenda", total);
  setEmpty("agenda", total === 0);
  [agendaRoot, ...agendaRoot.querySelectorAll(".agenda-tree")].forEach((list) => {
    sortables.push(new Sortable(list, {
      group: "agenda",
      handle: ".drag-handle",
      animation: 150,
      fallbackOnBody: true,
      swapThreshold: 0.65,
      emptyInsertThreshold: 14,
      // Pointer-driven dragging behaves the same with a mouse, a pen and a finger on a tablet.
      forceFallback: true,
      fallbackTolerance: 4,
      onStart: () => document.body.classList.add("is-dragging"),
      onMove: (evt) => Number(evt.to.dataset.depth) + subtreeHeight(evt.dragged) - 1 <= data.maxDepth,
      onEnd: (evt) => {
        document.body.classList.remove("is-dragging");
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
        saveOrder(Number(evt.item.dataset.id));
      },
    }));
  });
  if (focusId) {
    const handle = agendaRoot.querySelector(`li[data-id="${focusId}"] > .agenda-row > .drag-handle`);
    if (handle) handle.focus();
  }
}

function outlineOf(list) {
  return [...list.children].map((li) => {
    const childList = li.querySelector(":scope > .agenda-tree");
    return { id: Number(li.dataset.id), children: childList ? outlineOf(childList) : [] };
  });
}

async function reloadAgenda(focusId) {
  renderAgenda(await call("GET", "/agenda"), focusId);
}

async function saveOrder(focusId) {
  const handles = [...agendaRoot.querySelectorAll(".drag-handle")];
  try {
    await whileBusy(handles, async () => {
      renderAgenda(await call("PUT", "/agenda/order", { items: outlineOf(agendaRoot) }), focusId);
    });
    showMessage(agendaArea, t.orderSaved, "success");
  } catch (err) {
    renderAgenda(agenda, focusId); // back to the last order the server confirmed
    reportError(agendaArea, err);
  }
}

/** Keyboard reordering on the drag handle: ↑ ↓ move among siblings, → nests under the item above, ← un-nests. */
function moveWithKeys(evt) {
  const handle = evt.target.closest(".drag-handle");
  if (!handle || !["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(evt.key)) return;
  evt.preventDefault();
  const li = handle.closest("li.agenda-node");
  const list = li.parentElement;
  if (evt.key === "ArrowUp" && li.previousElementSibling) {
    list.insertBefore(li, li.previousElementSibling);
  } else if (evt.key === "ArrowDown" && li.nextElementSibling) {
    list.insertBefore(li.nextElementSibling, li);
  } else if (evt.key === "ArrowRight" && li.previousElementSibling) {
    const target = li.previousElementSibling.querySelector(":scope > .agenda-tree");
    if (!target || Number(target.dataset.depth) + subtreeHeight(li) - 1 > data.maxDepth) {
      showMessage(agendaArea, fmt(t.tooDeep, { n: data.maxDepth }), "error");
      return;
    }
    target.append(li);
  } else if (evt.key === "ArrowLeft" && list !== agendaRoot) {
    const parentLi = list.closest("li.agenda-node");
    parentLi.parentElement.insertBefore(li, parentLi.nextElementSibling);
  } else {
    return;
  }
  saveOrder(Number(li.dataset.id));
}

// The add / edit dialog.
const dialog = document.getElementById("item-dialog");
const itemForm = document.getElementById("item-form");
const dialogTitle = document.getElementById("item-dialog-title");
const dialogArea = messages("item-dialog");

function openItemDialog(mode, item) {
  itemForm.reset();
  clearMessage(dialogArea);
  itemForm.elements.item_id.value = mode === "edit" ? item.id : "";
  itemForm.elements.parent_id.value = mode === "sub" ? item.id : "";
  if (mode === "edit") {
    itemForm.elements.title.value = item.title;
    itemForm.elements.presenter.value = item.presenter || "";
    itemForm.elements.planned_minutes.value = item.planned_minutes || "";
    itemForm.elements.description.value = item.description || "";
  }
  const titles = { add: dialogTitle.dataset.titleAdd, edit: dialogTitle.dataset.titleEdit,
    sub: fmt(dialogTitle.dataset.titleSub || "", { number: item ? item.number : "" }) };
  dialogTitle.textContent = titles[mode];
  dialog.showModal();
  itemForm.elements.title.focus();
}

async function submitItem(evt) {
  evt.preventDefault();
  const f = itemForm.elements;
  const title = f.title.value.trim();
  if (!title) {
    showMessage(dialogArea, t.titleRequired, "error");
    f.title.focus();
    return;
  }
  const minutes = f.planned_minutes.value.trim();
  const payload = {
    title,
    presenter: f.presenter.value.trim(),
    description: f.description.value.trim(),
    // Sent as typed: the API says what is wrong with a bad number.
    planned_minutes: minutes === "" ? null : Number(minutes),
  };
  const itemId = f.item_id.value;
  const saveButton = itemForm.querySelector('button[type="submit"]');
  try {
    await whileBusy([saveButton], async () => {
      if (itemId) {
        await call("PATCH", `/agenda/${itemId}`, payload);
      } else {
        if (f.parent_id.value) payload.parent_id = Number(f.parent_id.value);
        await call("POST", "/agenda", payload);
      }
      await reloadAgenda();
    });
    dialog.close();
    showMessage(agendaArea, itemId ? t.itemSaved : t.itemAdded, "success");
  } catch (err) {
    reportError(dialogArea, err);
  }
}

async function agendaClick(evt) {
  const button = evt.target.closest("button[data-op]");
  if (!button) return;
  const item = findItem(Number(button.closest("li.agenda-node").dataset.id));
  if (!item) return;
  if (button.dataset.op === "edit") openItemDialog("edit", item);
  if (button.dataset.op === "add-sub") openItemDialog("sub", item);
  if (button.dataset.op === "delete") {
    if (!window.confirm(fmt(t.confirmDelete, { title: item.title }))) return;
    try {
      await whileBusy([button], async () => {
        await call("DELETE", `/agenda/${item.id}`);
        await reloadAgenda();
      });
      showMessage(agendaArea, t.itemDeleted, "success");
    } catch (err) {
      reportError(agendaArea, err);
    }
  }
}

document.querySelector('[data-testid="agenda-add"]').addEventListener("click", () => openItemDialog("add"));
dialog.querySelector("[data-dialog-cancel]").addEventListener("click", () => dialog.close());
itemForm.addEventListener("submit", submitItem);
agendaRoot.addEventListener("click", agendaClick);
agendaRoot.addEventListener("keydown", moveWithKeys);

// --- participants -------------------------------------------------------------------------------------------

const participantForm = document.getElementById("participant-form");
const participantArea = messages("participants");
const participantsBody = document.getElementById("participants-body");
const search = document.getElementById("participant-search");
const userSelect = document.getElementById("participant-user");
const roleSelect = document.getElementById("participant-role");
const voteBox = document.getElementById("participant-vote");
const weightInput = document.getElementById("participant-weight");
let participants = data.participants;

const fold = (s) => (s || "").normalize("NFD").replace(/\p{Diacritic}/gu, "").replace(/đ/g, "d").replace(/Đ/g, "D")
  .toLowerCase();

function renderUserOptions() {
  const taken = new Set(participants.map((p) => p.user_id));
  const words = fold(search.value).split(/\s+/).filter(Boolean);
  const previous = userSelect.value;
  const matches = data.users.filter((u) => !taken.has(u.id)).filter((u) => {
    const hay = fold(`${u.fullName} ${u.username} ${u.title}`);
    return words.every((w) => hay.includes(w));
  });
  userSelect.replaceChildren(...matches.map((u) => el("option", { value: u.id, "data-username": u.username },
    u.title ? `${u.fullName} — ${u.title} (${u.username})` : `${u.fullName} (${u.username})`)));
  if (matches.some((u) => String(u.id) === previous)) userSelect.value = previous;
  userSelect.disabled = matches.length === 0;
  if (matches.length === 0) userSelect.append(el("option", { value: "" }, t.noMatch));
}

function syncVoteControls() {
  // Which roles vote is the server's rule, handed to the page as data.votingRoles.
  const voting = data.votingRoles.includes(roleSelect.value);
  voteBox.checked = voting;
  voteBox.disabled = !voting;
  weightInput.disabled = !voting;
}

function renderParticipants() {
  const sorted = [...participants].sort((a, b) => a.full_name.localeCompare(b.full_name, "vi"));
  participantsBody.replaceChildren(...sorted.map((p) => el("tr", { dataset: { participantId: p.id, username: p.username } },
    el("td", {}, el("span", { class: "person" },
      el("span", { class: "person-name" }, p.full_name),
      el("span", { class: "person-title" }, [p.title, p.username].filter(Boolean).join(" · ")))),
    el("td", {}, el("span", { class: `chip chip-${p.role}` }, data.roleLabels[p.role] || p.role)),
    el("td", {}, p.can_vote ? `${t.votes} · ${fmt(t.weight, { w: p.vote_weight })}` : el("span", { class: "muted" }, t.noVote)),
    el("td", { class: "cell-actions" }, el("button", {
      type: "button", class: "btn btn-small btn-ghost btn-danger-text", "data-op": "remove",
      "aria-label": `${t.remove}: ${p.full_name}`,
    }, t.remove)))));
  setCount("participants", participants.length);
  setEmpty("participants", participants.length === 0);
  renderUserOptions();
}

async function addParticipant(evt) {
  evt.preventDefault();
  const userId = Number(userSelect.value);
  if (!userId) {
    showMessage(participantArea, t.pickPerson, "error");
    search.focus();
    return;
  }
  const voting = data.votingRoles.includes(roleSelect.value);
  const payload = { user_id: userId, role: roleSelect.value, can_vote: voting && voteBox.checked };
  if (voting && weightInput.value.trim()) payload.vote_weight = weightInput.value.trim();
  try {
    const added = await whileBusy([participantForm.querySelector('button[type="submit"]')],
      () => call("POST", "/participants", payload));
    participants.push(added);
    search.value = "";
    renderParticipants();
    showMessage(participantArea, fmt(t.participantAdded, { name: added.full_name }), "success");
    search.focus();
  } catch (err) {
    reportError(participantArea, err);
  }
}

async function participantsClick(evt) {
  const button = evt.target.closest('button[data-op="remove"]');
  if (!button) return;
  const id = Number(button.closest("tr").dataset.participantId);
  const person = participants.find((p) => p.id === id);
  if (!person || !window.confirm(fmt(t.confirmRemove, { name: person.full_name }))) return;
  try {
    await whileBusy([button], () => call("DELETE", `/participants/${id}`));
    participants = participants.filter((p) => p.id !== id);
    renderParticipants();
    showMessage(participantArea, fmt(t.participantRemoved, { name: person.full_name }), "success");
  } catch (err) {
    reportError(participantArea, err);
  }
}

// Roster import: all rows or none; a rejected file comes back with one line per problem.
const importForm = document.getElementById("import-form");
const importArea = messages("import");
const importReport = document.querySelector('[data-testid="import-report"]');

async function importRoster(evt) {
  evt.preventDefault();
  importReport.hidden = true;
  const file = importForm.elements.file.files[0];
  if (!file) {
    showMessage(importArea, t.pickFile, "error");
    return;
  }
  const body = new FormData();
  body.append("file", file);
  try {
    const result = await whileBusy([importForm.querySelector('button[type="submit"]')],
      () => call("POST", "/participants/import", body));
    participants = participants.concat(result.participants);
    renderParticipants();
    importForm.reset();
    showMessage(importArea, fmt(t.imported, { n: result.imported }), "success");
  } catch (err) {
    reportError(importArea, err);
    const rows = err.problem && Array.isArray(err.problem.errors) ? err.problem.errors : [];
    if (rows.length) {
      importReport.querySelector("tbody").replaceChildren(...rows.map((r) => el("tr", {},
        el("td", {}, String(r.row ?? r.field ?? "")), el("td", {}, r.message || ""))));
      importReport.hidden = false;
    }
  }
}

search.addEventListener("input", renderUserOptions);
roleSelect.addEventListener("change", syncVoteControls);
participantForm.addEventListener("submit", addParticipant);
participantsBody.addEventListener("click", participantsClick);
importForm.addEventListener("submit", importRoster);

// --- sessions -----------------------------------------------------------------------------------------------

const sessionForm = document.getElementById("session-form");
const sessionArea = messages("sessions");
const sessionsList = document.getElementById("sessions-list");
let sessions = data.sessions;

// The API speaks Vietnam time (+07:00), as the inputs do: no conversion through the browser's zone.
const toApiTime = (local) => (local ? `${local}:00+07:00` : null);
const showTime = (iso) => (iso ? `${iso.slice(11, 16)} ${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "");

function renderSessions() {
  sessionsList.replaceChildren(...sessions.map((s) => el("li", { class: "session-row", dataset: { sessionId: s.id, state: s.state } },
    el("strong", {}, s.title),
    el("span", { class: "muted" }, [showTime(s.starts_at), s.ends_at ? showTime(s.ends_at) : ""].filter(Boolean).join(" – ")),
    el("span", { class: `badge badge-session-${s.state}` }, t[s.state] || s.state))));
  setCount("sessions", sessions.length);
}

async function addSession(evt) {
  evt.preventDefault();
  const f = sessionForm.elements;
  const title = f.title.value.trim();
  if (!title) {
    showMessage(sessionArea, t.titleRequired, "error");
    f.title.focus();
    return;
  }
  try {
    const created = await whileBusy([sessionForm.querySelector('button[type="submit"]')], () => call("POST", "/sessions",
      { title, starts_at: toApiTime(f.starts_at.value), ends_at: toApiTime(f.ends_at.value) }));
    sessions.push(created);
    renderSessions();
    sessionForm.reset();
    showMessage(sessionArea, t.sessionAdded, "success");
  } catch (err) {
    reportError(sessionArea, err);
  }
}

sessionForm.addEventListener("submit", addSession);

renderAgenda(agenda);
renderParticipants();
syncVoteControls();
renderSessions();
document.getElementById("editor").dataset.ready = "true";
