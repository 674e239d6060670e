"""Filing parsing (spec §11): numbers as filings print them, ``Item`` sections, statement
tables, inline-XBRL facts and the cross-check of tagged values against table totals, over the
bundled 10-K (``sample_workflows/data/filings``) and variants of it; bad input of every kind
gives a low-confidence ``ExtractionResult`` with its reasons, never an exception.

Expected figures are the statement lines of the bundled filing, typed here and summed here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine import (
    DocumentChunk,
    ExtractionResult,
    ParsedFiling,
    check_xbrl_totals,
    parse_filing,
)
from engine.documents import LOW_CONFIDENCE, XbrlFact, parse_number, scale_of
from engine.documents.checks import summarize
from engine.documents.extract import map_fields, mda_mentions
from sample_workflows import SAMPLES_DIR

FILINGS = SAMPLES_DIR / "data" / "filings"
NORTHWIND = FILINGS / "northwind-10k-2025.htm"
BROKEN = FILINGS / "broken-10k.htm"
ACCESSION = "0001987654-26-000012"
M = 1_000_000

# the statements of operations, in millions, as printed (2025, 2024, 2023)
REVENUE = {"Subscription": (3912, 3398, 2941), "Professional services": (900, 823, 774)}
COST = {"Subscription": (1017, 918, 824), "Professional services": (702, 659, 627)}
OPEX = {"Research and development": (1010, 887, 780), "Sales and marketing": (1155, 1055, 966),
        "General and administrative": (433, 401, 372), "Restructuring": (0, 38, 0)}
INTEREST = (-41, -44, -47)
OTHER = (18, -6, 3)
TAX = (99, 45, 21)
# the balance sheets, in millions (2025, 2024)
CURRENT_ASSETS = {"Cash and cash equivalents": (1284, 1032), "Short-term investments": (655, 540),
                  "Accounts receivable, net": (876, 781),
                  "Prepaid expenses and other current assets": (214, 197)}
OTHER_ASSETS = {"Property and equipment, net": (612, 588),
                "Operating lease right-of-use assets": (301, 329), "Goodwill": (1406, 1406),
                "Intangible assets, net": (248, 297), "Other assets": (179, 160)}
CURRENT_LIABILITIES = (143 + 298 + 231 + 1352 + 64, 129 + 262 + 214 + 1187 + 61)
OTHER_LIABILITIES = (996 + 87 + 268 + 95, 1192 + 74 + 301 + 88)
EQUITY_LINES = ((2387, -21, -125), (2338, -18, -498))


def column(lines: Mapping[str, tuple[int, ...]], i: int) -> int:
    return sum(values[i] for values in lines.values())


def net_income(i: int) -> int:
    gross = column(REVENUE, i) - column(COST, i)
    return gross - column(OPEX, i) + INTEREST[i] + OTHER[i] - TAX[i]


def total_assets(i: int) -> int:
    return column(CURRENT_ASSETS, i) + column(OTHER_ASSETS, i)


@pytest.fixture(scope="module")
def filing() -> ParsedFiling:
    return parse_filing(NORTHWIND, ACCESSION)


@pytest.fixture(scope="module")
def raw() -> str:
    return NORTHWIND.read_text(encoding="utf-8")


def fact(parsed: ParsedFiling, concept: str, context: str) -> XbrlFact:
    return next(f for f in parsed.facts if f.concept == concept and f.context == context)


def table(parsed: ParsedFiling, statement: str) -> dict:
    return next(t for t in parsed.tables if t["statement"] == statement)


def row(tab: dict, label: str) -> dict:
    return next(r for r in tab["rows"] if r["label"] == label)


def variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    """The bundled filing with one edit (``old`` must occur ``count`` times)."""
    text = NORTHWIND.read_text(encoding="utf-8")
    assert text.count(old) == count, old
    path = tmp_path / "variant.htm"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(("text", "value"), [
    ("(41)", -41.0), ("$ 3,912", 3912.0), ("$3,912", 3912.0), ("1,234.5", 1234.5),
    ("(1,234.5)", -1234.5), ("-7", -7.0), ("\u2014", 0.0), ("–", 0.0), ("$ —", 0.0),
    ("(\u2014)", 0.0), ("15%", 15.0), ("(2.5)%", -2.5), ("", None), ("$", None),
    ("n/a", None), ("Total revenue", None), ("(41", None), ("0.55", 0.55),
])
def test_parse_number_reads_filing_notation(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(("heading", "factor"), [
    ("(in millions, except per share amounts)", 1_000_000), ("(In Thousands)", 1_000),
    ("(dollars in billions)", 1_000_000_000), ("CONSOLIDATED BALANCE SHEETS", 1),
])
def test_scale_of_reads_the_heading(heading: str, factor: int) -> None:
    assert scale_of(heading) == factor


# --------------------------------------------------------------------------- sections
def test_sections_follow_the_item_headings_not_the_table_of_contents(
        filing: ParsedFiling, raw: str) -> None:
    headings = re.findall(r'<p style="font-weight:bold">Item (\w+)\. ([^<]+)</p>', raw)
    assert len(headings) == 15
    items = [c.item for c in filing.chunks]
    assert items == [None] + [item for item, _ in headings]
    assert filing.chunks[0].section_type == "cover"
    by_item = {c.item: c for c in filing.chunks}
    assert by_item["1A"].section_type == "risk_factors"
    assert by_item["7"].section_type == "mda"
    assert by_item["7A"].section_type == "market_risk"
    assert by_item["8"].section_type == "financial_statement"
    assert by_item["1"].metadata["title"] == "Business"
    assert by_item["8"].metadata["part"] == "II"
    assert by_item["15"].metadata["part"] == "IV"
    # the table of contents lives in the cover chunk, as a table
    assert filing.chunks[0].tables[0]["title"] == "TABLE OF CONTENTS"


def test_chunks_carry_their_text_offsets_and_source_refs(filing: ParsedFiling) -> None:
    previous_end = -1
    for index, chunk in enumerate(filing.chunks):
        assert chunk.source_ref == f"{ACCESSION}#{index}"
        assert filing.text[chunk.start:chunk.end] == chunk.content
        assert chunk.start == previous_end + 1
        previous_end = chunk.end
    assert previous_end == len(filing.text)
    mda = filing.chunk("mda")
    assert mda is not None
    assert "Total revenue increased 14% to $4,812 million" in mda.content
    risks = filing.chunk("risk_factors")
    assert risks is not None and "renewal rates" in risks.content
    assert "Unresolved Staff Comments" not in risks.content


def test_document_result_trusts_a_complete_filing(filing: ParsedFiling) -> None:
    result = filing.result
    assert result.confidence == 1.0 and result.reasons == ()
    assert result.extraction_method == "ixbrl"
    assert filing.form_type == "10-K"
    assert filing.company == "NORTHWIND ANALYTICS, INC."
    assert filing.fiscal_year == "2025"
    assert result.value["items"][:4] == ["1", "1A", "1B", "1C"]


# --------------------------------------------------------------------------- inline XBRL
def test_every_tag_becomes_a_fact_in_its_section(filing: ParsedFiling, raw: str) -> None:
    tags = len(re.findall(r"<ix:non(?:Fraction|Numeric)\b", raw))
    assert len(filing.facts) == tags
    in_chunks = [f for c in filing.chunks for f in c.xbrl_facts]
    assert len(in_chunks) == tags  # hidden header facts are placed on the cover
    statements = filing.chunk("financial_statement")
    assert statements is not None
    in_tables = len(re.findall(r"<ix:nonFraction\b", raw)) - 1  # one is in the cover text
    assert len(statements.xbrl_facts) == in_tables


def test_facts_apply_scale_sign_format_and_context(filing: ParsedFiling) -> None:
    revenue = fact(filing, "us-gaap:Revenues", "c-FY2025")
    assert revenue.value == column(REVENUE, 0) * M
    assert (revenue.period_start, revenue.period_end) == ("2025-01-01", "2025-12-31")
    assert revenue.unit == "USD" and revenue.scale == 6 and revenue.decimals == "-6"
    assert revenue.displayed == "4,812"
    assert fact(filing, "us-gaap:NonoperatingIncomeExpense", "c-FY2024").value == OTHER[1] * M
    assert fact(filing, "us-gaap:AccumulatedOtherComprehensiveIncomeLossNetOfTax",
                "c-I2025").value == EQUITY_LINES[0][1] * M
    assert fact(filing, "us-gaap:RestructuringCharges", "c-FY2025").value == 0
    eps = fact(filing, "us-gaap:EarningsPerShareBasic", "c-FY2025")
    assert eps.value == 2.49 and eps.unit == "USD/shares"
    subscription = fact(filing, "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
                        "c-FY2025-sub")
    assert subscription.dimensions == {"srt:ProductOrServiceAxis": "nwa:SubscriptionMember"}
    assets = fact(filing, "us-gaap:Assets", "c-I2025")
    assert assets.instant and assets.period_end == "2025-12-31"
    assert assets.value == total_assets(0) * M
    shares = fact(filing, "dei:EntityCommonStockSharesOutstanding", "c-I20260213")
    assert shares.value == 150_312_448 and shares.unit == "shares"
    assert fact(filing, "dei:DocumentPeriodEndDate", "c-FY2025").value == "2025-12-31"
    assert fact(filing, "dei:DocumentType", "c-FY2025").numeric is False


# --------------------------------------------------------------------------- tables
def test_statement_tables_are_rows_of_scaled_numbers(filing: ParsedFiling) -> None:
    income = table(filing, "income_statement")
    assert income["title"] == "CONSOLIDATED STATEMENTS OF OPERATIONS"
    assert income["scale"] == M and income["per_share_unscaled"] is True
    assert income["years"] == ["2025", "2024", "2023"]
    assert row(income, "Interest expense")["values"] == [v * M for v in INTEREST]
    assert row(income, "Restructuring")["values"] == [v * M for v in OPEX["Restructuring"]]
    assert row(income, "Restructuring")["kinds"] == ["zero", "amount", "zero"]
    total = row(income, "Total revenue")
    assert total["kind"] == "total"
    assert total["values"] == [column(REVENUE, i) * M for i in range(3)]
    assert total["facts"] == ["f-7", "f-8", "f-9"]
    basic = row(income, "Basic")
    assert basic["per_share"] is True and basic["values"] == [2.49, 1.13, 0.55]
    assert row(income, "Net income")["values"] == [net_income(i) * M for i in range(3)]
    assert row(income, "Revenue:")["kind"] == "header"

    balance = table(filing, "balance_sheet")
    assert balance["years"] == ["2025", "2024"]
    assert row(balance, "Total assets")["values"] == [total_assets(i) * M for i in range(2)]
    assert row(balance, "Accumulated deficit")["values"] == [-125 * M, -498 * M]


def test_mda_table_keeps_percentages_unscaled(filing: ParsedFiling) -> None:
    mda = filing.chunk("mda")
    assert mda is not None
    summary = mda.tables[0]
    assert summary["columns"] == ["2025", "2024", "% Change"]
    assert summary["scale"] == M and summary["statement"] == "other"
    assert row(summary, "Subscription")["values"] == [3912 * M, 3398 * M, 15]
    assert row(summary, "Subscription")["kinds"] == ["amount", "amount", "percent"]


def test_chunks_and_results_are_json_safe_and_round_trip(filing: ParsedFiling) -> None:
    for chunk in filing.chunks:
        data = json.loads(json.dumps(chunk.to_dict()))
        assert DocumentChunk.from_dict(data) == chunk
    result = json.loads(json.dumps(filing.result.to_dict()))
    assert ExtractionResult.from_dict(result) == filing.result
    for f in filing.facts:
        assert XbrlFact.from_dict(json.loads(json.dumps(f.to_dict()))) == f


def test_extraction_result_keeps_the_spec_shape_and_clamps_confidence() -> None:
    spec_style = ExtractionResult("revenue", 4812, 0.97, "acc#8", "xbrl")
    assert spec_style.reasons == () and spec_style.trusted
    assert ExtractionResult("x", 1, 1.7, "", "nlp").confidence == 1.0
    low = ExtractionResult("x", None, -0.2, "", "regex", reasons=("why",))
    assert low.confidence == 0.0 and not low.trusted and low.reasons == ("why",)
    chunk = DocumentChunk("mda", "text", [], [], {"item": "7"}, "acc#10")
    assert chunk.item == "7"


# --------------------------------------------------------------------------- cross-checks
def test_every_tagged_cell_and_total_checks_out(filing: ParsedFiling, raw: str) -> None:
    findings = check_xbrl_totals(filing.tables, filing.facts)
    summary = summarize(findings)
    assert summary["checks_failed"] == 0, summary["failures"]
    tagged_cells = len(re.findall(r"<ix:nonFraction\b", raw)) - 1
    # totals: revenue, cost of revenue, operating expenses x 3 years; current assets, assets,
    # current liabilities, liabilities, equity, liabilities and equity x 2; the MD&A's total
    # revenue x its 2 amount columns
    assert summary["by_check"] == {
        "tag_matches_cell": {"passed": tagged_cells, "failed": 0},
        "components_sum": {"passed": 3 * 3 + 6 * 2 + 2, "failed": 0},
        "fact_matches_table": {"passed": 2, "failed": 0},
    }
    sums = {(f.subject, f.period): f for f in findings if f.check == "components_sum"}
    liabilities = sums[("Total liabilities", "2025")]
    assert liabilities.expected == (CURRENT_LIABILITIES[0] + OTHER_LIABILITIES[0]) * M
    equity = sums[("Total stockholders’ equity", "2024")]
    assert equity.expected == sum(EQUITY_LINES[1]) * M
    both = sums[("Total liabilities and stockholders’ equity", "2025")]
    assert both.expected == total_assets(0) * M == both.actual
    opex = sums[("Total operating expenses", "2024")]
    assert opex.expected == column(OPEX, 1) * M


def test_an_mda_total_that_disagrees_with_the_tag_fails(tmp_path: Path) -> None:
    path = variant(tmp_path, '<td style="text-align:right">$ 4,812</td>',
                   '<td style="text-align:right">$ 4,821</td>')
    parsed = parse_filing(path)
    failures = [f for f in check_xbrl_totals(parsed.tables, parsed.facts) if not f.passed]
    assert {(f.check, f.period) for f in failures} == {
        ("fact_matches_table", "2025"), ("components_sum", "2025")}
    mismatch = next(f for f in failures if f.check == "fact_matches_table")
    assert (mismatch.expected, mismatch.actual) == (4812 * M, 4821 * M)
    fields = map_fields(parsed.chunks, parsed.facts, parsed.fiscal_year)
    assert fields["revenue"].value == 4812 * M
    assert fields["revenue"].confidence < LOW_CONFIDENCE
    assert "4,821,000,000.00" in fields["revenue"].reasons[0]


def test_a_scale_attribute_that_contradicts_the_heading_fails(tmp_path: Path) -> None:
    path = variant(tmp_path, 'decimals="-6" scale="6" format="ixt:num-dot-decimal" id="f-7"',
                   'decimals="-3" scale="3" format="ixt:num-dot-decimal" id="f-7"')
    parsed = parse_filing(path)
    failures = [f for f in check_xbrl_totals(parsed.tables, parsed.facts) if not f.passed]
    assert [(f.check, f.subject, f.expected) for f in failures
            if f.check == "tag_matches_cell"] == [("tag_matches_cell", "us-gaap:Revenues",
                                                   4812 * 1000)]


def test_a_total_that_does_not_add_up_fails(tmp_path: Path) -> None:
    path = variant(tmp_path, 'id="b-21">5,775<', 'id="b-21">5,757<')
    parsed = parse_filing(path)
    failures = [f for f in check_xbrl_totals(parsed.tables, parsed.facts) if not f.passed]
    assert [(f.check, f.subject, f.period, f.expected, f.actual) for f in failures] == [
        ("components_sum", "Total assets", "2025", total_assets(0) * M, 5757 * M)]


def test_fields_fall_back_to_tables_when_a_value_is_not_tagged(tmp_path: Path) -> None:
    path = variant(tmp_path, 'name="us-gaap:NetIncomeLoss"', 'name="nwa:NetEarningsCustom"',
                   count=3)
    parsed = parse_filing(path)
    fields = map_fields(parsed.chunks, parsed.facts, parsed.fiscal_year)
    assert fields["net_income"].value == net_income(0) * M
    assert fields["net_income"].extraction_method == "table_parse"
    assert fields["net_income"].confidence == 0.7
    assert fields["revenue"].extraction_method == "xbrl"
    assert fields["revenue"].confidence == 1.0  # the MD&A table confirms it


def test_mda_figures_are_checked_against_tagged_values(filing: ParsedFiling) -> None:
    fields = map_fields(filing.chunks, filing.facts, filing.fiscal_year)
    mda = filing.chunk("mda")
    assert mda is not None
    mentions = {m.entity: m for m in mda_mentions(mda, fields, filing.facts, filing.fiscal_year)}
    assert mentions["revenue"].value["amount"] == column(REVENUE, 0) * M
    assert mentions["revenue"].value["change_pct"] == 14.0
    assert round((column(REVENUE, 0) / column(REVENUE, 1) - 1) * 100) == 14
    assert mentions["net_income"].value["amount"] == net_income(0) * M
    assert mentions["subscription_revenue"].value["amount"] == REVENUE["Subscription"][0] * M
    assert all(m.confidence == 0.95 and m.extraction_method == "regex"
               for m in mentions.values())


# --------------------------------------------------------------------------- bad input
def test_the_malformed_filing_gives_low_confidence_and_its_reasons() -> None:
    parsed = parse_filing(BROKEN)
    result = parsed.result
    assert result.confidence < LOW_CONFIDENCE
    text = " | ".join(result.reasons)
    assert "not well-formed XHTML at line 22" in text
    assert "missing section(s) of a 10-K: Item 8" in text
    assert "'c-FY2052'" in text and "'n/a'" in text and "'eur'" in text
    # what could be recovered still is
    assert [c.item for c in parsed.chunks] == [None, "1", "1A", "7"]
    assert fact(parsed, "us-gaap:NetIncomeLoss", "c-FY2025").value is None
    assert fact(parsed, "us-gaap:Revenues", "c-FY2052").period_end is None


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b"cik,ticker\n0000320193,AAPL\n", "not an HTML or XHTML filing"),
    (b'{"form": "10-K"}', "not an HTML or XHTML filing"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
])
def test_non_filings_get_zero_confidence_not_an_exception(content: bytes, reason: str) -> None:
    parsed = parse_filing(content)
    assert parsed.result.confidence == 0.0
    assert reason in parsed.result.reasons[0]
    assert parsed.chunks == ()


def test_unreadable_paths_get_zero_confidence(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.htm", tmp_path):
        result = parse_filing(path).result
        assert result.confidence == 0.0
        assert result.reasons[0].startswith(f"cannot read {path}")


def test_html_without_items_is_not_trusted_as_a_filing() -> None:
    parsed = parse_filing(b"<html><body><p>Quarterly newsletter</p><p>Hello</p></body></html>")
    assert parsed.result.confidence < LOW_CONFIDENCE
    assert any("no 'Item N.' section headings" in r for r in parsed.result.reasons)


def test_plain_html_filings_parse_without_inline_xbrl() -> None:
    old_style = (b"<HTML><BODY><P ALIGN=center><B>FORM 10-K</B></P>"
                 b"<P><B>ITEM 1. BUSINESS</B></P><P>We make&nbsp;widgets.</P>"
                 b"<P><B>ITEM 1A. RISK FACTORS</B></P><P>Steel prices.</P>"
                 b"<P><B>ITEM 7. MANAGEMENT'S DISCUSSION AND ANALYSIS</B></P>"
                 b"<P><B>ITEM 8. FINANCIAL STATEMENTS</B></P>"
                 b"<P>CONSOLIDATED STATEMENTS OF INCOME</P><P>(In thousands)</P>"
                 b"<TABLE><TR><TD></TD><TD>2001</TD><TD>2000</TD></TR>"
                 b"<TR><TD>Net sales</TD><TD>$</TD><TD>1,200</TD><TD>$</TD><TD>1,000</TD></TR>"
                 b"<TR><TD>Net loss</TD><TD>(30</TD><TD>)</TD><TD>&#151;</TD></TR>"
                 b"</TABLE></BODY></HTML>")
    parsed = parse_filing(old_style)
    assert [c.item for c in parsed.chunks] == [None, "1", "1A", "7", "8"]
    assert parsed.result.confidence == pytest.approx(1.0 - 0.2 - 0.05)
    assert any("no inline XBRL facts" in r for r in parsed.result.reasons)
    income = table(parsed, "income_statement")
    assert income["scale"] == 1000
    assert row(income, "Net sales")["values"] == [1_200_000, 1_000_000]
    assert row(income, "Net loss")["values"][0] == -30_000
    fields = map_fields(parsed.chunks, parsed.facts, "2001")
    assert fields["revenue"].value == 1_200_000
    assert fields["revenue"].extraction_method == "table_parse"


def test_inline_xbrl_in_a_file_that_is_not_xhtml_is_read_too() -> None:
    doc = ('<html><body><div style="display:none"><ix:header><ix:resources>'
           '<xbrli:context id="c1"><xbrli:entity><xbrli:identifier scheme="x">1'
           "</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:startDate>2024-01-01"
           "</xbrli:startDate><xbrli:endDate>2024-12-31</xbrli:endDate></xbrli:period>"
           '</xbrli:context><xbrli:unit id="usd"><xbrli:measure>iso4217:USD</xbrli:measure>'
           "</xbrli:unit></ix:resources></ix:header></div>"
           "<p>Item 8. Financial Statements</p><p>(in thousands)</p>"
           "<table><tr><td></td><td>2024</td></tr><tr><td>Total revenue</td><td>"
           '<ix:nonFraction name="us-gaap:Revenues" contextRef="c1" unitRef="usd" scale="3" '
           'decimals="-3">1,200</ix:nonFraction></td></tr></table></body></html>')
    parsed = parse_filing(doc)  # markup text, not a path
    revenue = fact(parsed, "us-gaap:Revenues", "c1")
    assert (revenue.value, revenue.unit, revenue.period_end) == (1_200_000, "USD", "2024-12-31")
    assert parsed.tables[0]["rows"][0]["facts"] == [revenue.fact_id]
    findings = check_xbrl_totals(parsed.tables, parsed.facts)
    assert [(f.check, f.passed) for f in findings] == [("tag_matches_cell", True)]


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    doc = (f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Item 1. Business</p>'
           "<p>&x;</p></body></html>").encode()
    parsed = parse_filing(doc)
    assert "TOP-SECRET-VALUE" not in parsed.text


def test_importing_engine_does_not_load_lxml() -> None:
    code = ("import sys, engine, engine.documents; assert 'lxml' not in sys.modules; "
            "engine.parse_filing(b'<html><body><p>Item 1. Business</p></body></html>'); "
            "print('lxml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"
