"""Every audited page, error states included, is valid HTML by the Nu HTML Checker.

The checker refuses loopback addresses, so each page's HTML is saved to a file and all the
files are checked in one run (one Java start). `make test` installs vnu.jar with npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from audit_pages import fetch, make_audit_app, pages_to_audit

VNU_JAR = Path(__file__).resolve().parent.parent / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.fixture(scope="module")
def saved_pages(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("html")
    app = make_audit_app(tmp)
    folder = tmp / "pages"
    folder.mkdir()
    saved = {}
    for page in pages_to_audit(app):
        html = fetch(app.test_client(), page).get_data(as_text=True)
        saved[page.name] = folder / f"{page.name}.html"
        saved[page.name].write_text(html, encoding="utf-8")
    return saved


def run_checker(files: list[Path]) -> list[dict]:
    if not VNU_JAR.exists() or shutil.which("java") is None:
        pytest.fail(f"the Nu HTML Checker is missing ({VNU_JAR}); run `make test` to install it")
    result = subprocess.run(
        ["java", "-Xss2m", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )
    # The checker writes its JSON report to standard error, and exits 1 when it found errors.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return json.loads(result.stderr)["messages"]


def test_every_page_is_valid_html(saved_pages):
    messages = run_checker(list(saved_pages.values()))
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m['message']}"
              for m in messages if m.get("type") in ("error", "non-document-error")]
    assert errors == [], "\n".join(errors[:40])
    print(f"\nNu HTML Checker: {len(saved_pages)} pages, 0 errors")


def test_the_checker_does_report_errors(tmp_path):
    # So a broken install or a silent checker cannot pass the gate above.
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><html lang=en><title>x</title><p><div></p></div>", encoding="utf-8")
    assert any(m.get("type") == "error" for m in run_checker([broken]))
