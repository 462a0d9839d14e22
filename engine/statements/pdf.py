"""A statement document drawn as a PDF with reportlab (platypus tables, reportlab.graphics charts).

Deterministic: reportlab's invariant mode fixes the creation date and the document id, and
nothing else in the file depends on the clock or on chance, so the same book gives the same bytes.
The base-14 fonts are not embedded (the files stay small: a statement is a few tens of kB).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from engine.statements.charts import allocation_chart, value_chart
from engine.statements.fmt import Formatter

CREATOR = "SMA trader workstation"
TRADE_LINES = 200
"""At most this many trades are listed one by one; the rest are counted."""
WINDOWS = {"quarter": "Quarter", "ytd": "Year to date", "1y": "One year", "inception": "Since inception"}
_STYLES = getSampleStyleSheet()
H1 = ParagraphStyle("h1", parent=_STYLES["Heading1"], fontSize=15, spaceAfter=2)
H2 = ParagraphStyle("h2", parent=_STYLES["Heading2"], fontSize=11, spaceBefore=8, spaceAfter=3)
BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=8.5, leading=10.5)
NOTE = ParagraphStyle("note", parent=BODY, fontSize=7, textColor=colors.HexColor("#555555"))
GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f4e79")),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _table(
    rows: list[list[Any]], widths: list[float], right_from: int, bold_rows: tuple[int, ...] = ()
) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = TableStyle([*GRID.getCommands(), ("ALIGN", (right_from, 0), (-1, -1), "RIGHT")])
    for r in bold_rows:
        style.add("FONT", (0, r), (-1, r), "Helvetica-Bold", 7.5)
        style.add("LINEABOVE", (0, r), (-1, r), 0.4, colors.grey)
    t.setStyle(style)
    return t


def _clip(text: str, n: int) -> str:
    """A cell's text cut to `n` characters (a long security name would run into the next column)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def _e(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_flowables(doc: dict[str, Any], f: Formatter) -> list[Flowable]:
    """Value reconciliation, performance by window against the benchmark, and the two charts."""
    out: list[Flowable] = []
    a = doc["activity"]
    rows = [["Change in value", doc["base_currency"]]]
    rows += [
        ["Value at the start of the period", f.money(a.get("start_value"))],
        ["Deposits", f.money(a["deposits"])],
        ["Withdrawals", f.money(a["withdrawals"])],
        ["Transfers in kind and other flows", f.money(a.get("other_flows"))],
        ["Income net of withholding", f.money(a["income_net"])],
        ["Fees", f.money(a["fees"])],
        ["Change in market value", f.money(a.get("market_change"))],
        ["Value at the end of the period", f.money(a["end_value"])],
    ]
    t = _table(rows, [70 * mm, 35 * mm], 1, bold_rows=(len(rows) - 1,))
    out.append(t)
    perf = doc.get("performance", {})
    out.append(Paragraph("Performance (time-weighted, in {})".format(_e(doc["base_currency"])), H2))
    bench = doc.get("benchmark") or "none"
    prow = [["Period", "From", "Net of fees", "Gross of fees", f"Benchmark ({bench})", "Net - benchmark"]]
    for w in perf.get("windows", []):
        active = None if w["net"] is None or w.get("benchmark") is None else w["net"] - w["benchmark"]
        prow.append([WINDOWS[w["window"]], f.date_iso(w["from"]), f.percent(w["net"]), f.percent(w["gross"]),
                     f.percent(w.get("benchmark")), f.percent(active)])  # fmt: skip
    out.append(_table(prow, [28 * mm, 26 * mm, 24 * mm, 24 * mm, 45 * mm, 26 * mm], 2))
    note = {"daily_values": "from the daily values stored at each day's close",
            "reconstructed": "from the history rebuilt from the ledger"}.get(perf.get("source"), perf.get("note", ""))  # fmt: skip
    out.append(Paragraph("Returns are not annualized; " + _e(note) + ".", NOTE))
    charts = Table(
        [
            [
                value_chart(doc.get("chart", []), f, 95 * mm, 55 * mm),
                allocation_chart(doc.get("allocation", []), f, 80 * mm, 55 * mm),
            ]
        ],
        colWidths=[97 * mm, 82 * mm],
    )
    out += [Spacer(1, 4 * mm), charts]
    return out


def holdings_flowables(doc: dict[str, Any], f: Formatter) -> list[Flowable]:
    """Holdings grouped by asset class with subtotals, then cash, then the total."""
    ccy = doc["base_currency"]
    rows: list[list[Any]] = [["Security", "Quantity", "Price", "Ccy", "Value (local)", f"Value ({ccy})", "Weight",
                              f"Unrealized ({ccy})"]]  # fmt: skip
    bold = []
    for cls in doc["allocation"]:
        if cls["asset_class"] == "cash":
            continue
        for p in (p for p in doc["positions"] if p["asset_class"] == cls["asset_class"]):
            rows.append([_clip(f"{p['symbol']}  {p['name']}", 44), f.quantity(p["quantity"]),
                         f.price(p["price"]), p["currency"], f.money(p["value_local"], p["currency"]),
                         f.money(p["value_base"]), f.percent(p["weight"]), f.money(p["unrealized_base"])])  # fmt: skip
        rows.append([f"Total {cls['asset_class'].replace('_', ' ')}", "", "", "", "", f.money(cls["value_base"]),
                     f.percent(cls["weight"]), ""])  # fmt: skip
        bold.append(len(rows) - 1)
    for c in doc["cash"]:
        rows.append([f"Cash {c['currency']}", "", "", c["currency"], f.money(c["amount"], c["currency"]),
                     f.money(c["value_base"]), f.percent(c["weight"]), ""])  # fmt: skip
    t = doc["totals"]
    rows.append(
        [
            "Total value",
            "",
            "",
            "",
            "",
            f.money(t["total_base"]),
            f.percent(1.0 if t["total_base"] else 0),
            "",
        ]
    )
    bold.append(len(rows) - 1)
    w = [56 * mm, 16 * mm, 16 * mm, 9 * mm, 22 * mm, 22 * mm, 14 * mm, 25 * mm]
    return [_table(rows, w, 1, tuple(bold))]


def activity_flowables(doc: dict[str, Any], f: Formatter) -> list[Flowable]:
    """Income, fees and flows; trades of the period; realized and unrealized gains by term."""
    a, g, ccy = doc["activity"], doc["gains"], doc["base_currency"]
    rows = [["Income and fees", ccy],
            ["Dividends and interest (gross)", f.money(a["income"])], ["Tax withheld", f.money(a["withholding"])],
            ["Income net of withholding", f.money(a["income_net"])], ["Fees", f.money(a["fees"])]]  # fmt: skip
    out: list[Flowable] = [_table(rows, [70 * mm, 35 * mm], 1, bold_rows=(3,))]
    grows = [["Gains", f"Short term ({ccy})", f"Long term ({ccy})", f"No holding rule ({ccy})"],
             ["Realized in the period", f.money(g["realized_short"]), f.money(g["realized_long"]), f.money(g["realized_none"])],
             ["Unrealized at the end", f.money(g["unrealized_short"]), f.money(g["unrealized_long"]),
              f.money(g["unrealized_none"])]]  # fmt: skip
    out += [Spacer(1, 3 * mm), _table(grows, [45 * mm, 32 * mm, 32 * mm, 36 * mm], 1)]
    if g.get("wash_disallowed"):
        out.append(
            Paragraph(f"Losses disallowed as wash sales: {f.money(g['wash_disallowed'])} {ccy}.", NOTE)
        )
    out.append(Paragraph(f"Trades ({len(doc['trades'])})", H2))
    if not doc["trades"]:
        out.append(Paragraph("No trades in the period.", BODY))
        return out
    trows = [
        ["Trade date", "Side", "Security", "Quantity", "Price", "Ccy", "Amount (local)", f"Amount ({ccy})"]
    ]
    for t in doc["trades"][:TRADE_LINES]:
        trows.append([f.date_iso(t["date"]), t["side"], t["symbol"], f.quantity(t["quantity"]), f.price(t["price"]),
                      t["currency"], f.money(t["amount_local"], t["currency"]), f.money(t["amount_base"])])  # fmt: skip
    out.append(_table(trows, [22 * mm, 12 * mm, 28 * mm, 20 * mm, 20 * mm, 10 * mm, 27 * mm, 27 * mm], 3))
    if len(doc["trades"]) > TRADE_LINES:
        out.append(Paragraph(f"... and {len(doc['trades']) - TRADE_LINES} more trades.", NOTE))
    return out


def account_flowables(doc: dict[str, Any]) -> list[Flowable]:
    """The pages of one account's statement."""
    f = Formatter(doc["locale"], doc["base_currency"])
    head = [
        Paragraph(_e(f"Statement {doc['period']}: {doc['name']}"), H1),
        Paragraph(
            _e(
                f"Account {doc['account']}, household {doc['household']} ({doc['household_name']}). "
                f"{f.date_iso(doc['from'])} to {f.date_iso(doc['to'])}, in {doc['base_currency']}."
            ),
            BODY,
        ),
        Spacer(1, 3 * mm),
    ]
    act = activity_flowables(doc, f)
    return [
        *head, *summary_flowables(doc, f), PageBreak(),
        Paragraph("Holdings at the end of the period", H2), *holdings_flowables(doc, f),
        Paragraph("Activity in the period", H2), KeepTogether(act[:3]), *act[3:],
    ]  # fmt: skip


def render(flowables: list[Flowable], title: str) -> tuple[bytes, int]:
    """The PDF's bytes (deterministic: see the module docstring) and its number of pages."""
    buf = BytesIO()

    def footer(canvas: Any, d: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, title)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"page {d.page}")
        canvas.restoreState()

    pdf = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=16 * mm,
        title=title, author=CREATOR, creator=CREATOR, subject=title, invariant=1, pageCompression=1,
    )  # fmt: skip
    pdf.build(flowables, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue(), int(pdf.page)
