// The secretary's hall display links (projector): list, create (the link is shown once), revoke.
import { api, el, fmt, showMessage, whileBusy } from "../http.js";

const box = document.querySelector("[data-testid=display-box]");
if (box) {
  const t = JSON.parse(document.getElementById("displays-i18n").textContent);
  const base = `/api/v1/meetings/${box.dataset.meetingId}/displays`;
  const options = { networkMessage: t.network, failedMessage: t.failed };
  const list = box.querySelector("[data-testid=display-list]");
  const area = box.querySelector("[data-messages=displays]");
  const form = box.querySelector("[data-display-form]");
  const fresh = box.querySelector("[data-testid=display-new]");
  const url = fresh.querySelector("[data-display-url]");
  const when = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric",
  });

  const label = (d) => d.label || fmt(t.unnamed, { id: d.id });

  function row(d) {
    const revoke = d.revoked_at ? null : el("button", { type: "button", class: "btn btn-small btn-ghost btn-danger-text",
      "data-revoke": d.id }, t.revoke);
    revoke?.addEventListener("click", async () => {
      if (!window.confirm(fmt(t.confirmRevoke, { label: label(d) }))) return;
      try {
        await whileBusy(revoke, () => api("DELETE", `${base}/${d.id}`, undefined, options));
        await load();
      } catch (err) {
        showMessage(area, err.message, "error");
      }
    });
    return el("li", { class: "display-row", dataset: { displayId: d.id, state: d.revoked_at ? "revoked" : "active" } },
      el("span", { class: "display-row-main" },
        el("strong", {}, label(d)),
        el("span", { class: `badge ${d.revoked_at ? "badge-closed" : "badge-published"}` },
          d.revoked_at ? t.revoked : t.active),
        el("span", { class: "muted" }, fmt(t.createdAt, { time: when.format(new Date(d.created_at)) }))),
      revoke);
  }

  async function load() {
    try {
      const page = await api("GET", base, undefined, options);
      const items = page.items.slice().reverse();  // the newest first
      list.replaceChildren(...items.map(row));
      if (!items.length) list.append(el("li", { class: "muted" }, t.none));
    } catch (err) {
      showMessage(area, err.message, "error");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    try {
      const created = await whileBusy(button, () => api("POST", base, { label: form.label.value.trim() }, options));
      url.value = created.url;
      fresh.querySelector("[data-display-open]").href = created.url;
      fresh.hidden = false;
      form.reset();
      area.replaceChildren();
      await load();
    } catch (err) {
      showMessage(area, err.message, "error");
    }
  });

  fresh.querySelector("[data-display-copy]").addEventListener("click", async () => {
    url.select();
    try {
      await navigator.clipboard.writeText(url.value);
    } catch (err) {
      document.execCommand("copy");  // plain http on the local network: no clipboard API
    }
    showMessage(area, t.copied, "success");
  });

  load();
}
