// The minutes page: autosave of the secretary's draft (with conflict handling and history), a live read-only
// view for the chair, then finalizing, signing and archiving.
import { api, fmt, showMessage, whileBusy } from "./http.js";

const messages = document.getElementById("minutes-messages");
const editor = document.getElementById("minutes-editor");
const AUTOSAVE_MS = 800;
const FOLLOW_MS = 4000;

function timeOf(iso) {
  return iso ? new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

function setStatus(input, text, kind = "") {
  const status = input.closest("label")?.querySelector("[data-status]");
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
}

function setupEditor(root) {
  const meetingId = root.dataset.meetingId;
  const editable = root.dataset.editable === "true";
  const url = `/api/v1/meetings/${meetingId}/minutes`;
  const fields = [...root.querySelectorAll("[data-field]")];
  const pending = new Map();
  const inFlight = new Set();

  async function save(input) {
    if (inFlight.has(input)) { pending.set(input, setTimeout(() => save(input), AUTOSAVE_MS)); return; }
    inFlight.add(input);
    const item = input.dataset.item ? Number(input.dataset.item) : null;
    const text = input.value;
    setStatus(input, root.dataset.msgSaving, "saving");
    try {
      const saved = await api("PUT", url, { agenda_item_id: item, field: input.dataset.field, text,
                                            base_version: Number(input.dataset.version) });
      syncVersion(item, input.dataset.field, saved.version);
      input.dataset.saved = text;
      setStatus(input, fmt(root.dataset.msgSaved, { time: timeOf(saved.updated_at) }), "saved");
    } catch (err) {
      if (err.status === 409 && err.problem.current) {
        conflict(input, err.problem, text);
      } else if (err.status === 0) {
        setStatus(input, root.dataset.msgNetwork, "error");
        pending.set(input, setTimeout(() => save(input), 5000));
      } else {
        setStatus(input, fmt(root.dataset.msgFailed, { reason: err.message }), "error");
      }
    } finally {
      inFlight.delete(input);
    }
  }

  // A field's version is shared with its sibling (notes and conclusions of one item; the general fields).
  function syncVersion(item, field, version) {
    fields.filter((f) => (f.dataset.item ? Number(f.dataset.item) : null) === item)
      .forEach((f) => { f.dataset.version = String(version); });
  }

  function conflict(input, problem, mine) {
    const item = input.dataset.item ? Number(input.dataset.item) : null;
    syncVersion(item, input.dataset.field, problem.version);
    fields.filter((f) => (f.dataset.item ? Number(f.dataset.item) : null) === item).forEach((f) => {
      if (f.dataset.field in problem.current && f !== document.activeElement) f.value = problem.current[f.dataset.field];
    });
    input.value = problem.current[input.dataset.field] ?? input.value;
    input.dataset.saved = input.value;
    const kept = document.createElement("details");
    kept.open = true;
    kept.className = "minutes-kept";
    const summary = document.createElement("summary");
    summary.textContent = fmt(root.dataset.msgConflict, { who: problem.updated_by || "?", time: timeOf(problem.updated_at) });
    const pre = document.createElement("pre");
    pre.textContent = mine;
    kept.append(summary, pre);
    input.closest("label").after(kept);
    setStatus(input, "", "");
  }

  if (editable) {
    fields.forEach((input) => {
      input.dataset.saved = input.value;
      input.addEventListener("input", () => {
        setStatus(input, root.dataset.msgUnsaved, "dirty");
        clearTimeout(pending.get(input));
        pending.set(input, setTimeout(() => save(input), AUTOSAVE_MS));
      });
      input.addEventListener("blur", () => {
        if (input.value !== input.dataset.saved) { clearTimeout(pending.get(input)); save(input); }
      });
    });
    window.addEventListener("beforeunload", (event) => {
      if (fields.some((f) => f.value !== f.dataset.saved)) event.preventDefault();
    });
  } else {
    // The chair (and the approver) follow the secretary's text as it is written.
    setInterval(async () => {
      try {
        const view = await api("GET", url);
        if (view.state !== "draft") { window.location.reload(); return; }
        for (const it of view.items) {
          for (const name of ["notes", "conclusions"]) {
            const el = root.querySelector(`[data-item="${it.agenda_item_id}"][data-field="${name}"]`);
            if (el && el.value !== it[name]) el.value = it[name];
          }
        }
        for (const name of ["number", "general_notes", "closing_text"]) {
          const el = root.querySelector(`[data-field="${name}"]:not([data-item])`);
          if (el && el.value !== view[name]) el.value = view[name];
        }
      } catch (err) { /* the next round tries again */ }
    }, FOLLOW_MS);
  }

  root.querySelectorAll("details[data-history]").forEach((box) => {
    box.addEventListener("toggle", async () => {
      if (!box.open) return;
      const list = box.querySelector("[data-history-list]");
      const rows = await api("GET", `${url}/revisions?agenda_item_id=${box.dataset.history}`);
      list.replaceChildren();
      if (!rows.length) { list.textContent = root.dataset.msgHistoryEmpty; return; }
      for (const r of rows) {
        const li = document.createElement("li");
        const head = document.createElement("div");
        head.className = "hint";
        head.textContent = `${new Date(r.at).toLocaleString("vi-VN")} · ${r.by} · ${r.field === "notes" ? "✎" : "⚑"} v${r.version}`;
        const body = document.createElement("div");
        body.className = "minutes-revision-text";
        body.textContent = r.text;
        li.append(head, body);
        list.append(li);
      }
    });
  });
}

async function post(button, url, body) {
  const label = button.textContent;
  if (button.dataset.busyText) button.textContent = button.dataset.busyText;
  try {
    await whileBusy(button, () => api("POST", url, body));
    window.location.reload();
  } catch (err) {
    showMessage(messages, err.message);
  } finally {
    button.textContent = label;
  }
}

if (editor) setupEditor(editor);

const finalize = document.getElementById("finalize");
if (finalize) {
  finalize.addEventListener("click", () => {
    if (!window.confirm(finalize.dataset.confirm)) return;
    post(finalize, `/api/v1/meetings/${editor.dataset.meetingId}/minutes/finalize`);
  });
}

const signing = document.getElementById("minutes-signing");
const signForm = document.getElementById("sign-form");
if (signForm) {
  signForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = signForm.querySelector("button[type=submit]");
    const step = signForm.dataset.step;
    const body = step === "seal" ? { step } : { step, passphrase: signForm.elements.passphrase.value };
    post(button, `/api/v1/meetings/${signing.dataset.meetingId}/minutes/sign`, body);
  });
}

const archive = document.getElementById("archive");
if (archive) {
  archive.addEventListener("click", () => {
    if (!window.confirm(archive.dataset.confirm)) return;
    post(archive, `/api/v1/meetings/${signing.dataset.meetingId}/transitions`, { action: "archive" });
  });
}
