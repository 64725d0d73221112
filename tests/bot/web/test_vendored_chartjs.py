"""The Chart.js the gateway serves is the release VERSION names, with its licence, and
the docs name the same release: an edited or half-upgraded copy fails here."""

from __future__ import annotations

import hashlib
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.web.pages import STATIC_DIR, static_files
from bot.web.reports import PAGE
from tests.support.stack import ROOT

VENDOR = STATIC_DIR / "vendor" / "chart.js"


def _recorded() -> tuple[str, str, str]:
    matched = re.fullmatch(
        r"chart\.js (\d+\.\d+\.\d+) (\S+) sha256:([0-9a-f]{64})\n", (VENDOR / "VERSION").read_text()
    )
    assert matched is not None, "VERSION is not as scripts/vendor-chartjs writes it"
    version, licence, digest = matched.groups()
    return version, licence, digest


def test_the_file_is_the_recorded_release_under_its_licence() -> None:
    version, licence, digest = _recorded()
    script = (VENDOR / "chart.umd.min.js").read_bytes()
    assert hashlib.sha256(script).hexdigest() == digest
    assert f"Chart.js v{version}".encode() in script[:200]
    assert licence == "MIT"
    assert "The MIT License" in (VENDOR / "LICENSE.md").read_text()


def test_the_docs_and_the_page_name_what_is_served() -> None:
    version, _, _ = _recorded()
    assert (
        f"Chart.js](https://www.chartjs.org) {version} (MIT licence)"
        in (ROOT / "docs" / "ops.md").read_text()
    )
    page = PAGE.read_text()
    assert '<script src="/static/vendor/chart.js/chart.umd.min.js" defer></script>' in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_the_gateway_serves_it_as_a_script() -> None:
    app = FastAPI()
    app.mount("/static", static_files())
    answer = TestClient(app).get("/static/vendor/chart.js/chart.umd.min.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(("text/javascript", "application/javascript"))
