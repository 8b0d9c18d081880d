"""`twoline eval all`: one JSON report and one self-contained HTML page that renders in Chromium."""

from __future__ import annotations

import json

import pytest

from evals import report as report_module
from evals.report import render_html, run_all
from tests.browser import headless_chromium


@pytest.fixture(scope="module")
def built_report(tmp_path_factory, artifacts_dir):
    from router.settings import Settings
    from tests.conftest import DATA_DIR, DOMAIN_DIR

    out = tmp_path_factory.mktemp("report")
    settings = Settings(
        domain_dir=DOMAIN_DIR,
        data_dir=DATA_DIR,
        artifacts_dir=artifacts_dir,
        database_url=f"sqlite:///{out / 'store.db'}",
        use_ner=False,
        log_json=False,
    )

    def broken_suite(settings, quick, out):
        raise RuntimeError("the knowledge base index is missing")

    suites = {
        "intents": report_module.SUITES["intents"],
        "ab": report_module.SUITES["ab"],
        "broken": broken_suite,
    }
    patch = pytest.MonkeyPatch()
    patch.setattr(report_module, "SUITES", suites)
    try:
        report = run_all(settings, out, quick=True)
    finally:
        patch.undo()
    return out, report


def test_json_report_has_every_suite_and_the_failure(built_report):
    out, report = built_report
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved["suites"]["intents"]["accuracy"] == report["suites"]["intents"]["accuracy"] > 0.5
    assert saved["suites"]["ab"] == {"skipped": "no experiment configured in domain.yaml"}
    assert saved["errors"] == {"broken": "RuntimeError: the knowledge base index is missing"}
    assert set(saved["wall_time_s"]) == {"intents", "ab", "broken", "total"}
    costliest = saved["suites"]["intents"]["costliest_intents"]
    assert costliest == sorted(costliest, key=lambda r: -r["unanswered"])


def test_html_is_self_contained(built_report):
    out, report = built_report
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    assert "src='http" not in page and "<script" not in page
    assert "failed: RuntimeError: the knowledge base index is missing" in page
    assert render_html(report) == page


@pytest.mark.integration
def test_report_renders_in_headless_chromium(built_report):
    out, _ = built_report
    with headless_chromium() as browser:
        browser.get((out / "report.html").as_uri())
        assert browser.title == "twoline eval report"
        images = browser.find_elements("css selector", "figure img")
        assert images, "no plot in the report"
        for image in images:
            width = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
            assert width > 200, f"plot {image.get_attribute('alt')} did not render"
        headings = [h.text for h in browser.find_elements("css selector", "h2")]
        assert headings[:3] == ["Overview", "intents", "ab"]
        browser.save_screenshot(str(out / "report.png"))
