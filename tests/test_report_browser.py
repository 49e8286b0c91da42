"""The HTML report as a reader's browser shows it: headless Chromium loads the page, the
summary table has one row per claim, and every image decodes."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from theorylab import claims, cli

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser():
    for b in _BROWSERS:
        path = shutil.which(b)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must test the report in headless Chromium: apt-get install chromium")
    pytest.skip("no headless Chromium here (apt-get install chromium)")


def _run(browser, *args, timeout=120):
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_report_loads_with_one_row_per_claim_and_every_image_decoded(tmp_path):
    browser = _browser()
    fig = tmp_path / "figures"
    shutil.copytree(claims.figures_dir(), fig,
                    ignore=shutil.ignore_patterns("seeds", "report.html", "REPORT.md"))
    _, page = cli.write_report(fig, update_readme=False)
    html = page.read_text()
    n_claims = len(claims.discover_claims())
    n_img = html.count("<img ")
    assert n_img > 0
    dom = _run(browser, "--virtual-time-budget=20000", "--dump-dom", page.as_uri()).stdout
    assert "theorylab claims report" in dom
    assert f"data-claim-rows=\"{n_claims}\"" in dom, "summary table must have one row per claim"
    assert f"data-images=\"{n_img}/{n_img}\"" in dom, "every image must decode"
    assert 'id="metric-glossary"' in dom, "the metric glossary must render"
    shot = tmp_path / "shot.png"
    _run(browser, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert float(np.std(img[..., :3])) > 0.01, "the screenshot is blank"


def test_broken_image_is_detected(tmp_path):
    """The page's own check fails when an image does not decode (the test can fail)."""
    browser = _browser()
    fig = tmp_path / "figures"
    (tmp_path / "figures").mkdir()
    src = next(p for p in claims.figures_dir().glob("*_smoke.json"))
    rec = json.loads(src.read_text())
    rec.pop("figure_spec", None)
    (fig / src.name).write_text(json.dumps(rec))
    (fig / rec["figure"]).write_bytes(b"not a png")
    _, page = cli.write_report(fig, update_readme=False)
    dom = _run(browser, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()).stdout
    assert 'data-images="0/1"' in dom


def test_report_carries_the_metric_glossary(tmp_path):
    """Every unlearning metric with its direction and ideal value, in both report files."""
    from theorylab.unlearning.reporting import METRICS

    fig = tmp_path / "figures"
    fig.mkdir()
    src = next(p for p in claims.figures_dir().glob("*_smoke.json"))
    (fig / src.name).write_text(src.read_text())
    md_path, page = cli.write_report(fig, update_readme=False, redraw=False)
    md, html = md_path.read_text(), page.read_text()
    assert "## How to read the unlearning metrics" in md and "id='metric-glossary'" in html
    for k, m in METRICS.items():
        assert f"| `{k}` | {m.label} | {m.direction} | {m.ideal} |" in md
        assert f"<td><code>{k}</code></td>" in html
    assert html.count("<tr><td><code>") == len(METRICS)
