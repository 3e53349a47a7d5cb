"""``agento evidence show``'s page in a real browser (Debian's chromium driven by Playwright),
opened from the file with no server: the verification at the top, then the run's timeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.support.browser import browser as browser  # skips this module without Chromium
from tests.support.evidence_packs import Exported, public_pem, tampered
from tests.support.evidence_packs import exported as exported  # fixture: one exported run

ROOT = Path(__file__).parents[2]


def _show(pack: Path, key: Path) -> tuple[int, Path]:
    run = subprocess.run(
        [sys.executable, "-m", "agento", "evidence", "show", str(pack), "--key", str(key)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return run.returncode, Path(run.stdout.strip())


async def test_the_page_shows_the_verified_run(
    exported: Exported, browser: Browser, tmp_path: Path
) -> None:
    key = tmp_path / "manifest.pub.pem"
    key.write_bytes(public_pem(exported.manifest_signer))
    status, page_file = _show(exported.pack, key)
    assert status == 0
    page = await browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await page.goto(page_file.as_uri())
    await expect(page.locator("#verification")).to_contain_text("Verified: the signature")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(exported.history.workflow_id)
    timeline = page.locator("ol.timeline > li")
    await expect(timeline.filter(has_text="DENY agento/commissioning/routing")).to_contain_text(
        "punch items still open"
    )
    review = timeline.filter(has_text="approved by engineer.lee")
    await expect(review).to_contain_text("groups commissioning-engineers")
    await expect(review).to_contain_text("signed, key review-service-demo")
    await expect(
        timeline.filter(has_text="generate_and_route_report 1.4.0 → completed")
    ).to_contain_text("override agento-3-generate_and_route_report-review-1")
    assert requests == [page_file.as_uri()], "the page fetches nothing"


async def test_the_page_of_a_forged_pack_says_it_is_not_verified(
    exported: Exported, browser: Browser, tmp_path: Path
) -> None:
    key = tmp_path / "manifest.pub.pem"
    key.write_bytes(public_pem(exported.manifest_signer))

    def flip(members: dict[str, bytes]) -> None:
        members["audit.json"] = members["audit.json"].replace(
            b'"allow": false', b'"allow": true', 1
        )

    status, page_file = _show(tampered(exported, tmp_path, flip), key)
    assert status == 1
    page = await browser.new_page()
    await page.goto(page_file.as_uri())
    await expect(page.locator("#verification")).to_contain_text("NOT VERIFIED")
    await expect(page.locator("table.checks")).to_contain_text("member audit.json was changed")
