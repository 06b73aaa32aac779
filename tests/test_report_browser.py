"""The report in a real headless browser (Chromium): every section is in the rendered page and the
embedded images decode. Skipped where no Chromium is installed (``apt-get install chromium``)."""

import shutil
import subprocess

import pytest
from PIL import Image

from workbench.report import write_report
from workbench.report.sections import SECTIONS

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium to render the report in")
PROBE = ("<script>addEventListener('load', () => document.body.setAttribute('data-decoded', "
         "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length))</script>")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-dev-shm-usage"]


def chromium(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={home}", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_report_renders_every_section_and_its_images(trained_run, tmp_path):
    report = write_report(trained_run, tmp_path / "report.html")
    url = report.resolve().as_uri()
    # A copy with a probe: once the page has loaded, it counts the images the browser decoded;
    # --dump-dom prints the DOM as the browser built it.
    probe = tmp_path / "probe.html"
    text = report.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri(),
                   home=tmp_path / "profile").stdout
    for sid, _title, _ in SECTIONS:
        assert f'id="{sid}"' in dom, sid
    images = dom.count("<img")
    assert images >= 2 and f'data-decoded="{images}"' in dom
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,2000", url, home=tmp_path / "profile")
    with Image.open(shot) as im:
        assert im.size == (1200, 2000)
        colours = im.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 50  # text, tables and charts, not a blank page
