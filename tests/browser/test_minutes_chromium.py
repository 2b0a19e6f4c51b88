"""The minutes in the real Chromium against the real server with the demo loaded, as a newcomer takes them.

The chair starts the demo meeting; the secretary (thuky) writes a conclusion on the minutes page while the chair
(chutoa) watches it appear on theirs; the chair adjourns and closes; the secretary finalizes, signs with the
demo passphrase; the chair signs from their browser; the secretary applies the seal and archives; the archive
ZIP is downloaded and checked by the offline verifier; the minutes' first page is rendered with pdftoppm.
Screenshots: test-output/browser/<name>/.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.browser.test_live_chromium import Screen, api_login

pytestmark = pytest.mark.browser

MEETING = 1
PASSWORD = "demo-2026"
CONCLUSION = "Hội đồng nhân dân tỉnh thống nhất thông qua Nghị quyết về dự toán ngân sách năm 2027."


def _act(base: str, headers: dict, action: str) -> None:
    resp = requests.post(f"{base}/api/v1/meetings/{MEETING}/transitions", json={"action": action}, headers=headers,
                         timeout=30)
    assert resp.status_code == 200, resp.text


def test_minutes_from_the_meeting_to_the_verified_archive(browser, demo_server, shots, tmp_path, output_dir):
    base = demo_server.url
    chair_api = api_login(base, "chutoa")
    _act(base, chair_api, "start")

    secretary = Screen(browser, base, shots, 1280, 900)
    secretary.page.on("dialog", lambda dialog: dialog.accept())
    secretary.login("thuky")
    secretary.page.goto(f"{base}/meetings/{MEETING}")
    secretary.page.click("[data-testid=open-minutes]")
    secretary.wait("[data-testid=minutes-editor][data-editable=true]")
    budget = secretary.page.locator("[data-testid=minutes-item]", has_text="dự toán ngân sách năm 2027")
    budget.locator("[data-testid=conclusions]").fill(CONCLUSION)
    budget.locator("[data-status][data-kind=saved]").wait_for()
    assert "Đã lưu" in budget.locator("[data-status]").nth(1).inner_text()
    secretary.shot("1-secretary-writes.png")

    chair = Screen(browser, base, shots, 1280, 900)
    chair.page.on("dialog", lambda dialog: dialog.accept())
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}/minutes")
    chair.wait("[data-testid=minutes-readonly]")
    chair_view = chair.page.locator("[data-testid=minutes-item]", has_text="dự toán ngân sách năm 2027")
    assert chair_view.locator("[data-testid=conclusions]").input_value() == CONCLUSION
    # The secretary goes on writing; the chair's page follows without a reload.
    budget.locator("[data-testid=notes]").fill("Đại biểu Phạm Thị Lan phát biểu về chi đầu tư phát triển.")
    chair.page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=notes]')].some(t => t.value.includes('Phạm Thị Lan'))""",
        timeout=15_000)
    chair.shot("2-chair-follows.png")

    _act(base, chair_api, "adjourn")
    _act(base, chair_api, "close")

    # --- the secretary finalizes and signs first
    secretary.page.reload()
    secretary.page.click("[data-testid=finalize]")
    secretary.wait("[data-testid=minutes-signing]", timeout=60_000)
    assert secretary.attr("[data-testid=minutes-state]", "data-state") == "finalized"
    secretary.page.fill("[data-testid=sign-passphrase]", "sai mật khẩu")
    secretary.page.click("[data-testid=sign-submit]")
    secretary.wait("#minutes-messages .alert-error")
    assert "mật khẩu" in secretary.page.inner_text("#minutes-messages").lower()
    secretary.page.fill("[data-testid=sign-passphrase]", PASSWORD)
    secretary.page.click("[data-testid=sign-submit]")
    secretary.wait("[data-testid=signature-step][data-step=secretary][data-signed=true]", timeout=60_000)
    secretary.shot("3-secretary-signed.png")

    # --- the chair signs from their browser
    chair.page.reload()
    chair.wait("[data-testid=sign-form][data-step=chair]")
    chair.page.fill("[data-testid=sign-passphrase]", PASSWORD)
    chair.page.click("[data-testid=sign-submit]")
    chair.wait("[data-testid=signature-step][data-step=chair][data-signed=true]", timeout=60_000)
    chair.shot("4-chair-signed.png")
    assert chair.page.locator("[data-testid=sign-form]").count() == 0  # the seal is not the chair's

    # --- the seal, then the archive
    secretary.page.reload()
    secretary.page.click("[data-testid=seal-submit]")
    secretary.wait("[data-testid=archive]", timeout=60_000)
    assert secretary.attr("[data-testid=minutes-state]", "data-state") == "signed"
    secretary.page.click("[data-testid=archive]")
    secretary.wait("[data-testid=archive-verdict][data-ok=true]", timeout=60_000)
    secretary.shot("5-archived.png")
    with secretary.page.expect_download() as download:
        secretary.page.click("[data-testid=archive-download]")
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert archive.suffix == ".zip"

    checked = subprocess.run([sys.executable, "-m", "flask", "--app", "meetings", "verify-archive", str(archive)],
                             capture_output=True, text=True, timeout=120,
                             env={"DATA_DIR": str(tmp_path / "verifier"), "PATH": "/usr/bin:/bin"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "nguyên vẹn" in checked.stdout

    # The minutes' first page, as a reader sees it.
    pdf = requests.get(f"{base}/api/v1/meetings/{MEETING}/minutes/pdf", headers=chair_api, timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    (tmp_path / "bien-ban.pdf").write_bytes(pdf.content)
    for page in (1, 0):
        args = ["-f", "1", "-l", "1"] if page == 1 else ["-f", "99", "-l", "99"]
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", *args, str(tmp_path / "bien-ban.pdf"),
                        str(shots / ("6-minutes-page-1" if page == 1 else "7-minutes-last-page"))],
                       check=page == 1, capture_output=True)
    assert (shots / "6-minutes-page-1.png").stat().st_size > 10_000
    for screen in (secretary, chair):
        unexpected = [p for p in screen.problems if "/minutes/sign" not in p]  # the wrong passphrase was a 422
        assert not unexpected, unexpected
