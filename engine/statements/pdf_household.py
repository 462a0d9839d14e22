"""The household statement's page: accounts and their values in the household's currency, the
consolidated allocation, income, fees and flows, and the household's returns by window."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table
from reportlab.platypus.flowables import Flowable

from engine.statements.charts import allocation_chart, value_chart
from engine.statements.fmt import Formatter
from engine.statements.pdf import BODY, H1, H2, NOTE, WINDOWS, _clip, _e, _table


def household_flowables(doc: dict[str, Any]) -> list[Flowable]:
    f = Formatter(doc["locale"], doc["currency"])
    ccy = doc["currency"]
    out: list[Flowable] = [
        Paragraph(_e(f"Household statement {doc['period']}: {doc['name']}"), H1),
        Paragraph(
            _e(
                f"Household {doc['household']}, {len(doc['accounts'])} accounts. {f.date_iso(doc['from'])} to "
                f"{f.date_iso(doc['to'])}, in {ccy} (values at the period end's rate; each account's own "
                "statement shows it in its base currency)."
            ),
            BODY,
        ),
        Paragraph("Accounts", H2),
    ]
    rows: list[list[Any]] = [["Account", "Base", "Value (base)", f"Value ({ccy})", "Weight", "Quarter (net)"]]
    for a in doc["accounts"]:
        rows.append([_clip(f"{a['account']}  {a['name']}", 44), a["base_currency"],
                     f.money(a["value_base"], a["base_currency"]), f.money(a["value"]), f.percent(a["weight"]),
                     f.percent(a["quarter_net"])])  # fmt: skip
    rows.append(["Total", "", "", f.money(doc["total"]), f.percent(1.0 if doc["total"] else 0), ""])
    out.append(_table(rows, [64 * mm, 12 * mm, 28 * mm, 28 * mm, 16 * mm, 22 * mm], 2, (len(rows) - 1,)))
    a = doc["activity"]
    arows = [["Income, fees and flows", ccy], ["Income net of withholding", f.money(a["income_net"])],
             ["Fees", f.money(a["fees"])], ["Deposits", f.money(a["deposits"])],
             ["Withdrawals", f.money(a["withdrawals"])]]  # fmt: skip
    t = _table(arows, [70 * mm, 35 * mm], 1)
    out += [Spacer(1, 3 * mm), t, Paragraph(f"Performance (time-weighted, in {_e(ccy)})", H2)]
    prow = [["Period", "From", "Net of fees", "Gross of fees"]]
    for w in doc["performance"]["windows"]:
        prow.append([WINDOWS[w["window"]], f.date_iso(w["from"]), f.percent(w["net"]), f.percent(w["gross"])])
    t = _table(prow, [30 * mm, 28 * mm, 26 * mm, 26 * mm], 2)
    out += [t, Paragraph("The household's return from the sum of its accounts' daily values and flows, each "
                         "day at that day's rate; benchmarks are on each account's statement.", NOTE)]  # fmt: skip
    charts = Table(
        [
            [
                value_chart(doc["chart"], f, 95 * mm, 55 * mm),
                allocation_chart(doc["allocation"], f, 80 * mm, 55 * mm),
            ]
        ],
        colWidths=[97 * mm, 82 * mm],
    )
    out += [Spacer(1, 4 * mm), charts]
    return out
