// The secretary's upload: drop or choose PDFs, each goes to the REST API with a progress bar, then the
// server checks, cleans and signs it ("Checking and signing…") and the list below refreshes.
// XMLHttpRequest, not fetch: only XHR reports upload progress.

const card = document.querySelector("[data-testid=upload-card]");
const t = JSON.parse(document.getElementById("upload-i18n").textContent);
const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);

function send(url, form, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
      resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
    });
    xhr.addEventListener("error", () => resolve({ ok: false, status: 0, data: null }));
    xhr.send(form);
  });
}

function queueRow(name, size) {
  const li = document.createElement("li");
  li.className = "upload-row";
  li.dataset.testid = "upload-row";
  li.innerHTML = `<div class="upload-row-head"><span class="upload-name"></span><span class="upload-size muted"></span></div>
    <progress max="100" value="0"></progress><p class="upload-status" data-testid="upload-status"></p>`;
  li.querySelector(".upload-name").textContent = name;
  li.querySelector(".upload-size").textContent = size < 1048576
    ? `${Math.max(1, Math.round(size / 1024))} KB` : `${(size / 1048576).toFixed(1)} MB`;
  return li;
}

function setStatus(li, state, text) {
  li.dataset.state = state;
  li.querySelector(".upload-status").textContent = text;
  const bar = li.querySelector("progress");
  if (state === "processing") bar.removeAttribute("value");  // indeterminate while the server works
  if (state === "done") bar.value = 100;
}

async function refreshList() {
  const resp = await fetch(card.dataset.listUrl, { credentials: "same-origin" });
  if (!resp.ok) return;
  const html = await resp.text();
  const tmp = document.createElement("div");
  tmp.innerHTML = html;
  document.getElementById("document-list").replaceWith(tmp.firstElementChild);
}

function settings(form) {
  const data = new FormData(form);
  const audience = data.get("audience");
  const fields = { audience, agenda_item_id: data.get("agenda_item_id") || "", number: data.get("number").trim(),
                   title: data.get("title").trim() };
  if (audience === "participants") {
    fields.participant_ids = data.getAll("participant_ids").join(",");
    if (!fields.participant_ids) return { error: t.chooseParticipants };
  }
  if (audience === "roles") {
    fields.roles = data.getAll("roles").join(",");
    if (!fields.roles) return { error: t.chooseRoles };
  }
  return { fields };
}

function checkFile(file) {
  const isPdf = file.type === "application/pdf" || /\.pdf$/i.test(file.name);
  if (!isPdf) return t.notPdf;
  if (file.size > Number(card.dataset.maxMb) * 1048576) return t.tooLarge;
  return null;
}

async function uploadOne(url, file, fields, label) {
  const queue = card.querySelector("[data-testid=upload-queue]");
  const li = queueRow(label || file.name, file.size);
  queue.prepend(li);
  const problem = checkFile(file);
  if (problem) {
    setStatus(li, "failed", `${t.failed}: ${problem}`);
    return false;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [key, value] of Object.entries(fields)) if (value) form.append(key, value);
  setStatus(li, "uploading", fill(t.uploading, { pct: 0 }));
  const resp = await send(url, form, (part) => {
    li.querySelector("progress").value = Math.round(part * 100);
    if (part < 1) setStatus(li, "uploading", fill(t.uploading, { pct: Math.round(part * 100) }));
    else setStatus(li, "processing", t.processing);
  });
  if (!resp.ok) {
    const detail = resp.status === 0 ? t.network : (resp.data && (resp.data.detail || resp.data.title)) || `HTTP ${resp.status}`;
    setStatus(li, "failed", `${t.failed}: ${detail}`);
    return false;
  }
  const removed = (resp.data.current && resp.data.current.removed) || [];
  const note = removed.length ? ` · ${fill(t.removed, { what: removed.map((r) => r.kind).join(", ") })}` : "";
  setStatus(li, "done", `${t.done}${note}`);
  return true;
}

async function uploadAll(files) {
  const form = document.getElementById("upload-form");
  const chosen = settings(form);
  const queue = card.querySelector("[data-testid=upload-queue]");
  if (chosen.error) {
    const li = queueRow(files[0].name, files[0].size);
    queue.prepend(li);
    setStatus(li, "failed", `${t.failed}: ${chosen.error}`);
    return;
  }
  const url = `/api/v1/meetings/${card.dataset.meetingId}/documents`;
  // One after the other: the server checks and signs one file per core anyway, and the bars stay readable.
  for (const [i, file] of [...files].entries()) {
    const fields = { ...chosen.fields, title: i === 0 && files.length === 1 ? chosen.fields.title : "" };
    if (await uploadOne(url, file, fields)) await refreshList();
  }
  // Title and number belong to one document: the next drop must not inherit them.
  form.querySelector("[name=title]").value = "";
  form.querySelector("[name=number]").value = "";
}

if (card) {
  const input = card.querySelector("[data-testid=upload-input]");
  const zone = card.querySelector("[data-testid=dropzone]");
  input.addEventListener("change", () => { if (input.files.length) uploadAll(input.files).finally(() => { input.value = ""; }); });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("is-over"); });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
  });
  card.addEventListener("change", (e) => {
    if (e.target.name !== "audience") return;
    card.querySelectorAll(".audience-choices").forEach((box) => { box.hidden = box.dataset.for !== e.target.value; });
  });
  // New versions: the file inputs live in the list, which is replaced after each upload.
  document.addEventListener("change", async (e) => {
    const id = e.target.dataset && e.target.dataset.newVersion;
    if (!id || !e.target.files.length) return;
    const title = e.target.closest("[data-testid=document]").querySelector(".doc-title").textContent;
    const ok = await uploadOne(`/api/v1/documents/${id}/versions`, e.target.files[0], {}, fill(t.newVersion, { title }));
    if (ok) await refreshList();
  });
}
