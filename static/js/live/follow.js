// "Follow me" on the live pages. The chair (console) shows a document page with view.follow; every tablet in
// follow mode opens the same document at the same page (view.page events, or the snapshot's ``view``).
//
// Tablet: follows by default. Turning a page yourself, opening another document or closing the panel means
// reading on your own; "Follow the chair" returns to the chair's page. The choice is kept for the tab.
// Console: opening a document from the list shows it to everyone; the chair's page turns follow it; "Stop
// showing" ends it. A view started elsewhere (the secretary, another console) is shown in the bar.
import { PdfView } from "../documents/pdfview.js";

/**
 * The document list is drawn by the server (audience rules, signature badges): a function that redraws the
 * list inside ``section`` (its data-list-url), at most once per burst of document events.
 */
export function documentListRefresher(section) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const resp = await fetch(section.dataset.listUrl, { credentials: "same-origin" }).catch(() => null);
      if (!resp || !resp.ok) return;
      const box = document.createElement("div");
      box.innerHTML = await resp.text();
      section.querySelector("#document-list").replaceWith(box.firstElementChild);
    }, 200);
  };
}

const fileUrl = (id) => `/api/v1/documents/${id}/file`;
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

export class Follow {
  /**
   * @param {object} o
   * @param {import("./room.js").Room} o.room
   * @param {number} o.meetingId
   * @param {HTMLElement} o.list  the documents list; its "open" links open documents in the panel
   */
  constructor(o) {
    this.room = o.room;
    this.meetingId = o.meetingId;
    this.panel = document.querySelector("[data-testid=live-viewer]");
    this.bar = document.querySelector("[data-testid=follow-bar]");
    this.mode = this.panel.dataset.mode;
    this.t = JSON.parse(document.getElementById("follow-i18n").textContent);
    this.messages = this.panel.querySelector("[data-messages=viewer]");
    this.pdf = new PdfView(this.panel, { labels: this.t, onPage: (page, byUser) => this.turned(page, byUser) });
    this.key = `follow:${this.meetingId}`;
    this.following = this.mode === "tablet" && sessionStorage.getItem(this.key) !== "own";
    this.shown = null;       // {document_id, title} in the panel, or null
    this.presenting = false; // console: the panel is what the room sees
    this.view = { document_id: null, page: null };
    this.wire(o.list);
    this.mirrorConnection();
  }

  /** The panel covers the page: show the connection indicator in it too (a copy that follows the original). */
  mirrorConnection() {
    const original = document.querySelector("[data-testid=connection]");
    const slot = this.panel.querySelector("[data-conn-mirror]");
    if (!original || !slot) return;
    const copyIt = () => {
      const clone = original.cloneNode(true);
      clone.removeAttribute("data-testid");
      clone.removeAttribute("role");
      clone.removeAttribute("aria-live");
      slot.replaceChildren(clone);
    };
    copyIt();
    new MutationObserver(copyIt).observe(original, { attributes: true, childList: true, subtree: true,
                                                     characterData: true });
  }

  wire(list) {
    const q = (id) => this.panel.querySelector(`[data-testid=${id}]`) || this.bar.querySelector(`[data-testid=${id}]`);
    const on = (id, fn) => { const b = q(id); if (b) b.addEventListener("click", fn); };
    on("viewer-close", () => this.close());
    on("follow-join", () => this.setFollowing(true));
    on("follow-rejoin", () => this.setFollowing(true));
    on("follow-leave", () => this.setFollowing(false));
    on("follow-open", () => this.openView());
    on("present-stop", () => this.stopPresenting());
    on("present-start", () => this.present(this.shown.document_id, this.pdf.page));
    list.addEventListener("click", (e) => {
      const link = e.target.closest("[data-testid=open-document]");
      if (!link) return;
      e.preventDefault();
      const item = link.closest("[data-testid=document]");
      const id = Number(item.dataset.documentId);
      const title = item.querySelector(".doc-title").textContent;
      if (this.mode === "console") this.present(id, 1, title);
      else {
        if (this.view.document_id !== id) this.setFollowing(false, { redraw: false });
        this.show(id, this.view.document_id === id ? this.view.page : 1, title);
      }
    });
  }

  /** The room's state changed: follow its view. */
  update(view) {
    this.view = view && view.document_id ? view : { document_id: null, page: null };
    if (this.mode === "console") {
      // Still ours until the room shows something else, or nothing after it had shown ours (our own event
      // may arrive after this update: do not drop the presentation meanwhile).
      const ours = this.shown && this.view.document_id === this.shown.document_id;
      if (ours) this.confirmed = true;
      if (this.presenting && ((this.view.document_id && !ours) || (!this.view.document_id && this.confirmed))) {
        this.presenting = false;
      }
    } else if (this.following) {
      if (this.view.document_id) this.show(this.view.document_id, this.view.page, this.view.title);
      else if (this.shown) this.hide();
    }
    this.draw();
  }

  show(id, page, title) {
    this.shown = { document_id: id, title: title || "" };
    this.panel.hidden = false;
    document.body.classList.add("has-live-viewer");
    this.panel.querySelector("[data-viewer-title]").textContent = title || "";
    this.panel.dataset.documentId = String(id);
    this.pdf.open(fileUrl(id), page);
    this.draw();
  }

  hide() {
    this.shown = null;
    this.panel.hidden = true;
    document.body.classList.remove("has-live-viewer");
    delete this.panel.dataset.documentId;
    this.pdf.close();
    this.draw();
  }

  close() {
    if (this.mode === "console" && this.presenting) this.stopPresenting();
    else {
      if (this.view.document_id) this.setFollowing(false, { redraw: false });
      this.hide();
    }
  }

  setFollowing(on, { redraw = true } = {}) {
    this.following = on;
    sessionStorage.setItem(this.key, on ? "follow" : "own");
    if (on && this.view.document_id) this.show(this.view.document_id, this.view.page, this.view.title);
    if (redraw) this.draw();
  }

  openView() {
    if (this.view.document_id) this.show(this.view.document_id, this.view.page, this.view.title);
  }

  /** A page was drawn; ``byUser``: the reader turned it. */
  turned(page, byUser) {
    if (!byUser || !this.shown) return;
    if (this.mode === "console") {
      if (this.presenting) this.send(this.shown.document_id, page);
    } else if (this.following && this.shown.document_id === this.view.document_id && page !== this.view.page) {
      this.setFollowing(false);
    }
  }

  async present(id, page, title) {
    this.show(id, page, title || (this.shown && this.shown.title));
    this.presenting = true;
    this.confirmed = false;
    this.draw();
    await this.send(id, page);
  }

  async stopPresenting() {
    this.presenting = false;
    this.hide();
    await this.send(null, 1);
  }

  async send(documentId, page) {
    const ack = await this.room.emit("view.follow", { meeting_id: this.meetingId, document_id: documentId, page });
    if (ack.error) {
      this.messages.textContent = fill(this.t.failed, { reason: ack.error.detail || ack.error.title || "" });
      this.messages.className = "messages alert alert-error";
    } else {
      this.messages.textContent = "";
      this.messages.className = "messages";
    }
  }

  draw() {
    const v = this.view;
    const showingElsewhere = v.document_id && !(this.shown && this.shown.document_id === v.document_id &&
                                                (this.mode === "console" || this.following));
    this.bar.hidden = !showingElsewhere;
    if (showingElsewhere) {
      const text = this.mode === "console" ? this.t.presenting : this.t.showing;
      this.bar.querySelector("[data-follow-text]").textContent = fill(text, { title: v.title, page: v.page });
    }
    const state = this.panel.querySelector("[data-testid=follow-state]");
    if (state) state.dataset.following = String(this.following && Boolean(this.shown) &&
                                                this.shown.document_id === v.document_id);
    const following = state && state.dataset.following === "true";
    this.panel.querySelectorAll("[data-when-following]").forEach((n) => { n.hidden = !following; });
    this.panel.querySelectorAll("[data-when-own]").forEach((n) => { n.hidden = following || !v.document_id; });
    this.panel.querySelectorAll("[data-when-presenting]").forEach((n) => { n.hidden = !this.presenting; });
    this.panel.querySelectorAll("[data-when-private]").forEach((n) => { n.hidden = this.presenting; });
    this.panel.dataset.following = String(Boolean(following));
    this.panel.dataset.presenting = String(this.presenting);
  }
}
