"""Issue 16, item 5: every dashboard page offers "Download as PDF" of the view on screen (the
same query string), rendered on the server by the report renderers; record-level PDFs are
logged as the other downloads are; and each JSON twin carries the data's stamp in its meta."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI

from tests.web.helpers import sign_in

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_overview_pdf_is_the_view_on_screen(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    page = client.get("/?period=fytd")
    assert page.status_code == 200
    assert 'href="/index.pdf?period=fytd"' in page.text and "Download as PDF" in page.text
    response = client.get("/index.pdf?period=fytd")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content[:5] == b"%PDF-"
    assert 'filename="index.pdf"' in response.headers["content-disposition"]
    text = squash(pdf_text(response.content))
    assert "Overview" in text and "View: /?period=fytd" in text
    figures = client.get("/index.json?period=fytd").json()
    rows = [r for t in figures["tables"].values() for r in t["rows"]]
    assert figures["meta"]["period"] == "fytd"
    # the financial year's figures, not the default 12 months': every headline value is there
    html_values = re.findall(r'govuk-table__cell--numeric">([^<]+)<', page.text)
    assert html_values and all(v.strip() in text for v in html_values[:12])
    assert len(rows) >= 3


def test_a_split_page_prints_its_split(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    page = client.get("/compliance?by=area")
    assert 'href="/compliance.pdf?by=area"' in page.text
    response = client.get("/compliance.pdf?by=area")
    assert response.status_code == 200 and response.content[:5] == b"%PDF-"
    text = squash(pdf_text(response.content))
    title = re.search(r"<h1[^>]*>([^<]+)</h1>", page.text)
    assert title and squash(title.group(1)).strip() in text


def test_a_record_level_pdf_is_logged_and_marked(app: FastAPI) -> None:
    client = sign_in(app, "super1")
    page = client.get("/worklist?sort=obligation")
    assert 'href="/worklist.pdf?sort=obligation"' in page.text
    response = client.get("/worklist.pdf?sort=obligation")
    assert response.status_code == 200 and response.content[:5] == b"%PDF-"
    text = pdf_text(response.content)
    assert "OFFICIAL-SENSITIVE" in text
    ops = app.state.vcop.ops
    actions = [r["action"] for r in ops.query("SELECT action FROM access_log").dicts()]
    assert "worklist_pdf" in actions
    # the PDF is the page on screen: one page of rows, not every row as in the CSV
    csv_rows = client.get("/worklist.csv?sort=obligation").text.count("\r\n") - 1
    shown = page.text.count('<tr class="govuk-table__row">') - 1
    assert shown < csv_rows


def test_a_pdf_needs_sign_in(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    response = TestClient(app, follow_redirects=False).get("/index.pdf")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_each_json_twin_carries_the_data_stamp(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    for path in ("/index.json", "/compliance.json", "/worklist.json", "/data-quality.json"):
        meta = client.get(path).json()["meta"]
        assert meta["data_loaded_at"], path
        assert meta["ledger_as_of"] == "2025-06-30", path


def test_worklist_sorts_obligations_in_the_codes_order(app: FastAPI) -> None:
    client = sign_in(app, "super1")
    rows = client.get("/worklist.json?sort=obligation&size=200").json()["tables"]
    table = next(iter(rows.values()))["rows"]
    rights = [r["right"] for r in table if r.get("right") is not None]
    assert rights == sorted(rights) and len(set(rights)) > 1
