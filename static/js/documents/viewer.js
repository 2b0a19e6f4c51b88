// The tablet's PDF viewer: Mozilla pdf.js (pdfjs-dist from npm, in static/vendor/pdfjs), one page at a time,
// fit to width, sharp on high-density screens. pdf.js fetches the file by Range requests, so the first page
// shows before a large document has arrived; the server counts the opening once (read tracking).
import * as pdfjsLib from "../../vendor/pdfjs/pdf.min.mjs";

const root = document.getElementById("viewer");
const t = JSON.parse(document.getElementById("viewer-i18n").textContent);
const stage = root.querySelector("[data-testid=viewer-stage]");
const canvas = root.querySelector("[data-testid=page-canvas]");
const loading = root.querySelector("[data-testid=viewer-loading]");
const pageInput = root.querySelector("[data-testid=page-input]");
const pageCount = root.querySelector("[data-testid=page-count]");

pdfjsLib.GlobalWorkerOptions.workerSrc = root.dataset.worker;

const view = { pdf: null, page: 1, zoom: 1, rendering: null, pending: null };

async function render() {
  if (!view.pdf) return;
  if (view.rendering) {  // a render is under way: draw the newest request after it, skip the ones between
    view.pending = true;
    return;
  }
  const page = await view.pdf.getPage(view.page);
  const base = page.getViewport({ scale: 1 });
  const width = Math.max(200, stage.clientWidth - 16);
  const scale = (width / base.width) * view.zoom;
  const viewport = page.getViewport({ scale });
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.floor(viewport.width * dpr);
  canvas.height = Math.floor(viewport.height * dpr);
  canvas.style.width = `${Math.floor(viewport.width)}px`;
  canvas.style.height = `${Math.floor(viewport.height)}px`;
  view.rendering = page.render({ canvas, viewport, transform: dpr !== 1 ? [dpr, 0, 0, dpr, 0, 0] : undefined });
  try {
    await view.rendering.promise;
  } catch (err) {
    if (err && err.name !== "RenderingCancelledException") throw err;
  } finally {
    view.rendering = null;
  }
  canvas.hidden = false;
  loading.hidden = true;
  root.dataset.renderedPage = String(view.page);
  pageInput.value = String(view.page);
  if (view.pending) {
    view.pending = false;
    render();
  }
}

export function goTo(n) {
  if (!view.pdf) return;
  const page = Math.min(Math.max(1, Math.floor(Number(n)) || 1), view.pdf.numPages);
  if (page === view.page && root.dataset.renderedPage === String(page)) return;
  view.page = page;
  render();
}

root.querySelectorAll("[data-go]").forEach((btn) => btn.addEventListener("click", () => {
  goTo(view.page + (btn.dataset.go === "next" ? 1 : -1));
}));
root.querySelectorAll("[data-zoom]").forEach((btn) => btn.addEventListener("click", () => {
  const step = Number(btn.dataset.zoom);
  view.zoom = step === 0 ? 1 : Math.min(4, Math.max(0.5, view.zoom * (step > 0 ? 1.25 : 0.8)));
  render();
}));
pageInput.addEventListener("change", () => goTo(pageInput.value));
stage.addEventListener("keydown", (e) => {
  if (e.key === "ArrowRight" || e.key === "PageDown") goTo(view.page + 1);
  if (e.key === "ArrowLeft" || e.key === "PageUp") goTo(view.page - 1);
});
// Swipe left/right to turn pages on a tablet (only when not zoomed in, where a swipe pans).
let touchX = null;
stage.addEventListener("touchstart", (e) => { touchX = e.touches.length === 1 ? e.touches[0].clientX : null; }, { passive: true });
stage.addEventListener("touchend", (e) => {
  if (touchX === null || view.zoom > 1) return;
  const dx = e.changedTouches[0].clientX - touchX;
  if (Math.abs(dx) > 60) goTo(view.page + (dx < 0 ? 1 : -1));
  touchX = null;
});
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(render, 150);
});

async function open() {
  const task = pdfjsLib.getDocument({ url: root.dataset.fileUrl, withCredentials: true, isEvalSupported: false });
  task.onProgress = ({ loaded, total }) => {
    if (total) loading.textContent = t.loading.replace("{pct}", String(Math.round((loaded / total) * 100)));
  };
  try {
    view.pdf = await task.promise;
  } catch (err) {
    loading.textContent = t.failed;
    loading.classList.add("alert", "alert-error");
    root.dataset.failed = "true";
    return;
  }
  pageCount.textContent = String(view.pdf.numPages);
  pageInput.max = String(view.pdf.numPages);
  const wanted = Number(new URLSearchParams(location.search).get("page")) || 1;
  view.page = Math.min(Math.max(1, wanted), view.pdf.numPages);
  await render();
  root.dataset.ready = "true";
  root.dispatchEvent(new CustomEvent("viewer:ready", { detail: { pages: view.pdf.numPages } }));
}

open();
