"""Documents in the real Chromium against the real server with the demo loaded.

thuky (secretary) uploads a 4 MB PDF on a throttled link and watches its progress bar climb, then the
server's "checking and signing" state, then "signed"; drops a second PDF onto the drop zone; a text file is
refused with a reason. daibieu1 (delegate) then finds the new document with its "verified signature" badge,
opens it in the pdf.js viewer, turns the page, reads the plain-words signature report; the secretary sees
that daibieu1 has opened it. A live tablet page receives the document without a reload.
Screenshots: test-output/browser/<test name>/.
"""
from __future__ import annotations

import base64
import io
import os

import pikepdf
import pytest

from meetings.documents.textpdf import sample_pdf
from tests.browser.test_live_chromium import Screen

pytestmark = pytest.mark.browser

MEETING = 1
UPLOAD_BYTES_PER_S = 1_500_000  # a slow hall Wi-Fi, so the progress bar has time to move


def big_pdf(megabytes: int = 4) -> bytes:
    """Two pages of text plus an incompressible image: a scanned annex, as secretaries upload them."""
    pdf = pikepdf.open(io.BytesIO(sample_pdf(2)))
    side = int((megabytes * 1024 * 1024) ** 0.5)
    image = pikepdf.Stream(pdf, os.urandom(side * side), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                           Width=side, Height=side, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    page = pdf.pages[1]
    page.add_resource(image, pikepdf.Name.XObject, pikepdf.Name.Scan)
    page.contents_add(pikepdf.Stream(pdf, b"q 200 0 0 200 100 100 cm /Scan Do Q"), prepend=False)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


# Records every state an upload row goes through and the progress values it showed.
WATCH_UPLOADS = """() => {
  window.__uploads = [];
  const queue = document.querySelector('[data-testid=upload-queue]');
  new MutationObserver(() => {
    const row = queue.querySelector('[data-testid=upload-row]');
    if (!row) return;
    const bar = row.querySelector('progress');
    window.__uploads.push({state: row.dataset.state, value: bar.hasAttribute('value') ? bar.value : null});
  }).observe(queue, {subtree: true, childList: true, attributes: true, characterData: true});
}"""

DROP_FILE = """([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type: 'application/pdf'}));
  const zone = document.querySelector('[data-testid=dropzone]');
  zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def test_secretary_uploads_with_progress_and_a_delegate_reads_the_verified_document(browser, demo_server, shots,
                                                                                     tmp_path):
    base = demo_server.url
    secretary = Screen(browser, base, shots, 1280, 900)
    tablet = Screen(browser, base, shots, 1280, 800)
    delegate = Screen(browser, base, shots, 1100, 1400)

    # A delegate follows the live tablet page meanwhile: the new documents must arrive there by themselves.
    tablet.login("daibieu2")
    tablet.page.goto(f"{base}/meetings/{MEETING}/live")
    tablet.connected()
    before = tablet.page.locator("[data-testid=live-documents] [data-testid=document]").count()

    # --- the secretary uploads on a slow link -------------------------------------------------------------
    secretary.login("thuky")
    secretary.page.goto(f"{base}/meetings/{MEETING}")
    secretary.page.click("[data-testid=open-documents]")
    secretary.page.wait_for_url(f"{base}/meetings/{MEETING}/documents")
    secretary.shot("01-documents-secretary.png")
    secretary.page.fill("#up-number", "99/BC-VP")
    secretary.page.fill("#up-title", "Phụ lục ảnh chụp hiện trường")
    secretary.page.select_option("#up-item", index=1)
    cdp = secretary.context.new_cdp_session(secretary.page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": UPLOAD_BYTES_PER_S})
    secretary.page.evaluate(WATCH_UPLOADS)
    annex = tmp_path / "phu-luc.pdf"
    annex.write_bytes(big_pdf(4))
    secretary.page.set_input_files("[data-testid=upload-input]", str(annex))
    secretary.page.wait_for_selector("[data-testid=upload-row][data-state=uploading]")
    secretary.page.wait_for_function("() => { const b = document.querySelector('[data-testid=upload-row] progress');"
                                     " return b && b.value >= 30 && b.value < 100; }")
    secretary.shot("02-upload-in-progress.png")
    secretary.page.wait_for_selector("[data-testid=upload-row][data-state=done]", timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    history = secretary.page.evaluate("window.__uploads")
    values = [h["value"] for h in history if h["state"] == "uploading" and h["value"] is not None]
    assert any(0 < v < 100 for v in values), history  # the bar moved, not jumped
    assert values == sorted(values), values  # and only forwards
    states = [h["state"] for h in history]
    assert states.index("uploading") < states.index("processing") < states.index("done"), states
    new_doc = secretary.page.locator("[data-testid=document]", has_text="Phụ lục ảnh chụp hiện trường")
    new_doc.wait_for()
    assert new_doc.locator("[data-testid=sig-badge]").get_attribute("data-verdict") == "valid"
    assert "99/BC-VP" in new_doc.inner_text()
    secretary.shot("03-uploaded.png")

    # --- drag and drop, and a refused file ------------------------------------------------------------------
    dropped = base64.b64encode(sample_pdf(1)).decode()
    secretary.page.evaluate(DROP_FILE, [dropped, "to-trinh-keo-tha.pdf"])
    secretary.page.locator("[data-testid=document]", has_text="to-trinh-keo-tha").wait_for(timeout=30_000)
    # Named .pdf, so the page sends it; the server looks at the bytes and refuses it, and the page says why.
    text_file = tmp_path / "ghi-chu.pdf"
    text_file.write_text("không phải PDF")
    secretary.page.set_input_files("[data-testid=upload-input]", str(text_file))
    refused = secretary.page.locator("[data-testid=upload-row][data-state=failed]")
    refused.wait_for()
    assert "ghi-chu.pdf" in refused.inner_text() and "PDF" in refused.locator("[data-testid=upload-status]").inner_text()
    assert secretary.page.input_value("#up-number") == ""  # the number went with the first document
    secretary.shot("04-refused.png")

    # --- the live tablet got both documents without a reload -------------------------------------------------
    tablet.page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=live-documents] [data-testid=document]').length >= {before + 2}",
        timeout=10_000)
    tablet.shot("05-tablet-documents.png")

    # --- a delegate opens it in the viewer, sees the badge and the report ---------------------------------
    delegate.login("daibieu1")
    delegate.page.goto(f"{base}/meetings/{MEETING}/documents")
    row = delegate.page.locator("[data-testid=document]", has_text="Phụ lục ảnh chụp hiện trường")
    assert row.locator("[data-testid=sig-badge]").get_attribute("data-verdict") == "valid"
    assert delegate.page.locator("[data-testid=upload-card]").count() == 0
    row.locator("[data-testid=open-document]").click()
    delegate.page.wait_for_selector("[data-testid=viewer][data-ready=true]", timeout=20_000)
    assert delegate.page.locator("[data-testid=page-count]").inner_text() == "2"
    assert delegate.page.locator("[data-testid=sig-badge]").get_attribute("data-verdict") == "valid"
    canvas = delegate.page.locator("[data-testid=page-canvas]")
    assert canvas.is_visible() and canvas.bounding_box()["width"] > 500
    delegate.shot("06-viewer-page-1.png")
    delegate.page.click("[data-testid=next-page]")
    delegate.page.wait_for_selector("[data-testid=viewer][data-rendered-page='2']")
    delegate.shot("07-viewer-page-2.png")
    delegate.page.click("[data-testid=sig-badge]")
    delegate.page.wait_for_selector("[data-testid=verdict][data-verdict=valid]")
    assert delegate.page.locator("[data-testid=signature]").count() == 1
    delegate.shot("08-signature-report.png")

    # --- the secretary sees who opened it ------------------------------------------------------------------
    secretary.page.reload()
    reads = secretary.page.locator("[data-testid=document]", has_text="Phụ lục ảnh chụp hiện trường") \
        .locator("[data-testid=doc-reads]")
    reads.locator("summary").click()
    assert "Phạm Thị Lan" in reads.inner_text()  # daibieu1
    secretary.shot("09-reads.png")

    for screen in (secretary, tablet, delegate):
        # The refused text file is the one 4xx we caused on purpose (the page said why).
        problems = [p for p in screen.problems if not p.startswith("HTTP 415 POST")]
        assert not problems, problems
