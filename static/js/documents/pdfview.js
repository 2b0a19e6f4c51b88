// A PDF view on a page: Mozilla pdf.js (pdfjs-dist from npm, in static/vendor/pdfjs), one page at a time,
// fit to width, sharp on high-density screens. pdf.js fetches the file by Range requests, so the first page
// shows before a large document has arrived (the server counts the opening once: read tracking).
// Used by the viewer page and by the live pages' "follow me" panel.
//
// The markup is templates/documents/_viewer.html; state is mirrored on the root's data attributes
// (data-ready, data-rendered-page, data-failed) for tests and styles.
import * as pdfjsLib from "../../vendor/pdfjs/pdf.min.mjs";

export class PdfView {
  /**
   * @param {HTMLElement} root  the element made by the pdf_viewer macro
   * @param {object} o
   * @param {{failed: string, loading: string}} o.labels
   * @param {(page: number, byUser: boolean) => void} [o.onPage]  after a page was drawn
   */
  constructor(root, o) {
    this.root = root;
    this.labels = o.labels;
    this.onPage = o.onPage || (() => {});
    this.stage = root.querySelector("[data-testid=viewer-stage]");
    this.canvas = root.querySelector("[data-testid=page-canvas]");
    this.loading = root.querySelector("[data-testid=viewer-loading]");
    this.pageInput = root.querySelector("[data-testid=page-input]");
    this.pageCount = root.querySelector("[data-testid=page-count]");
    this.pdf = null;
    this.url = null;
    this.page = 1;
    this.zoom = 1;
    this.rendering = null;
    this.pending = null;  // the newest page asked for while a render was running: {byUser}
    this.task = null;
    pdfjsLib.GlobalWorkerOptions.workerSrc = root.dataset.worker;
    this.wire();
  }

  wire() {
    const r = this.root;
    r.querySelectorAll("[data-go]").forEach((btn) => btn.addEventListener("click", () => {
      this.goTo(this.page + (btn.dataset.go === "next" ? 1 : -1), { byUser: true });
    }));
    r.querySelectorAll("[data-zoom]").forEach((btn) => btn.addEventListener("click", () => {
      const step = Number(btn.dataset.zoom);
      this.zoom = step === 0 ? 1 : Math.min(4, Math.max(0.5, this.zoom * (step > 0 ? 1.25 : 0.8)));
      this.render(false);
    }));
    this.pageInput.addEventListener("change", () => this.goTo(this.pageInput.value, { byUser: true }));
    this.stage.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "PageDown") this.goTo(this.page + 1, { byUser: true });
      if (e.key === "ArrowLeft" || e.key === "PageUp") this.goTo(this.page - 1, { byUser: true });
    });
    // Swipe left/right turns pages on a tablet (not when zoomed in, where a swipe pans).
    let touchX = null;
    this.stage.addEventListener("touchstart", (e) => {
      touchX = e.touches.length === 1 ? e.touches[0].clientX : null;
    }, { passive: true });
    this.stage.addEventListener("touchend", (e) => {
      if (touchX === null || this.zoom > 1) return;
      const dx = e.changedTouches[0].clientX - touchX;
      if (Math.abs(dx) > 60) this.goTo(this.page + (dx < 0 ? 1 : -1), { byUser: true });
      touchX = null;
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => this.render(false), 150);
    });
  }

  /** Open ``url`` at ``page`` (the same document again only moves to the page). */
  async open(url, page = 1) {
    if (url === this.url && this.pdf) {
      this.goTo(page);
      return true;
    }
    this.close();
    this.url = url;
    this.page = page;
    this.loading.hidden = false;
    this.loading.classList.remove("alert", "alert-error");
    this.loading.textContent = this.labels.loading.replace("{pct}", "0");
    const task = pdfjsLib.getDocument({ url, withCredentials: true, isEvalSupported: false });
    this.task = task;
    task.onProgress = ({ loaded, total }) => {
      if (total && this.task === task) {
        this.loading.textContent = this.labels.loading.replace("{pct}", String(Math.round((loaded / total) * 100)));
      }
    };
    let pdf;
    try {
      pdf = await task.promise;
    } catch (err) {
      if (this.task !== task) return false;  // closed or replaced meanwhile
      this.loading.textContent = this.labels.failed;
      this.loading.classList.add("alert", "alert-error");
      this.root.dataset.failed = "true";
      return false;
    }
    if (this.task !== task) {
      pdf.destroy();
      return false;
    }
    this.pdf = pdf;
    this.pageCount.textContent = String(pdf.numPages);
    this.pageInput.max = String(pdf.numPages);
    this.page = this.clamp(this.page);
    await this.render(false);
    this.root.dataset.ready = "true";
    return true;
  }

  close() {
    if (this.task) this.task.destroy();
    this.task = null;
    this.pdf = null;
    this.url = null;
    this.canvas.hidden = true;
    delete this.root.dataset.ready;
    delete this.root.dataset.renderedPage;
    delete this.root.dataset.failed;
  }

  clamp(n) {
    const last = this.pdf ? this.pdf.numPages : 1;
    return Math.min(Math.max(1, Math.floor(Number(n)) || 1), last);
  }

  goTo(n, { byUser = false } = {}) {
    if (!this.pdf) {
      this.page = Math.max(1, Math.floor(Number(n)) || 1);  // applied when the document has opened
      return;
    }
    const page = this.clamp(n);
    if (page === this.page && this.root.dataset.renderedPage === String(page)) {
      this.pageInput.value = String(page);
      return;
    }
    this.page = page;
    this.render(byUser);
  }

  async render(byUser) {
    if (!this.pdf) return;
    if (this.rendering) {  // draw the newest request after this one; the ones between are skipped
      this.pending = { byUser: byUser || (this.pending && this.pending.byUser) };
      return;
    }
    const pdf = this.pdf;
    const page = await pdf.getPage(this.page);
    if (pdf !== this.pdf) return;
    const base = page.getViewport({ scale: 1 });
    const width = Math.max(200, this.stage.clientWidth - 16);
    const viewport = page.getViewport({ scale: (width / base.width) * this.zoom });
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.floor(viewport.width * dpr);
    this.canvas.height = Math.floor(viewport.height * dpr);
    this.canvas.style.width = `${Math.floor(viewport.width)}px`;
    this.canvas.style.height = `${Math.floor(viewport.height)}px`;
    this.rendering = page.render({ canvas: this.canvas, viewport,
                                   transform: dpr !== 1 ? [dpr, 0, 0, dpr, 0, 0] : undefined });
    try {
      await this.rendering.promise;
    } catch (err) {
      if (!err || err.name !== "RenderingCancelledException") throw err;
    } finally {
      this.rendering = null;
    }
    this.canvas.hidden = false;
    this.loading.hidden = true;
    this.root.dataset.renderedPage = String(this.page);
    this.pageInput.value = String(this.page);
    this.onPage(this.page, byUser);
    if (this.pending) {
      const next = this.pending;
      this.pending = null;
      this.render(next.byUser);
    }
  }
}
