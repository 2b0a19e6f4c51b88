// The viewer page (/documents/<id>/view): one document in a PdfView, opened at ?page=N.
import { PdfView } from "./pdfview.js";

const root = document.getElementById("viewer");
const view = new PdfView(root, { labels: JSON.parse(document.getElementById("viewer-i18n").textContent) });
const wanted = Number(new URLSearchParams(location.search).get("page")) || 1;
view.open(root.dataset.fileUrl, wanted);
