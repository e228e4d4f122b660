"""Take the README's screenshot from the real dashboard: `python scripts/screenshot.py [docs/dashboard.png]`."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.processes import Demo  # noqa: E402


def main(out: Path, settle: float = 12.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo = Demo(Path(tmp) / "data", rigs=3)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                demo.login(page)
                page.wait_for_selector(".rig-card.online")
                for rig in ("cam-left", "cam-right"):
                    button = page.locator(f".rig-card[data-rig='{rig}'] .start-spool")
                    if button.count():
                        button.click()
                time.sleep(settle)  # let the rate charts and previews fill
                page.screenshot(path=str(out))
                browser.close()
        finally:
            demo.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png"))
