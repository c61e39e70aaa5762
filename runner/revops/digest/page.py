"""The digest as one self-contained HTML page, and as a short Markdown summary.

Only formatting happens here: the numbers are the rows :mod:`revops.digest.data` read. The page
inlines Apache ECharts (``vendor/echarts.min.js``), the page script (``page.js``) and the data
(a ``<script type="application/json">`` blob), so it opens with no network; its
Content-Security-Policy allows exactly those two scripts (by hash) and nothing remote.

Escaping: every string from the database goes through :func:`html.escape` in the HTML and
through :func:`script_json` (``<``, ``>``, ``&`` as ``\\u003c`` ...) in the blob, so a rep named
``</script><script>alert(1)</script>`` is text, never markup. The Markdown summary escapes it
for GitHub's renderer too.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from string import Template
from typing import Any

from revops import __version__

ECHARTS_VERSION = "5.6.0"

LABELS = {
    "new_leads": "New leads",
    "sqls": "SQLs",
    "opportunities_created": "Opportunities created",
    "pipeline_amount_created": "Pipeline created",
    "closed_won_opportunities": "Deals won",
    "revenue_won": "Revenue won",
    "total_activities": "Activities",
    "calls": "Calls",
    "emails": "Emails",
    "meetings": "Meetings",
}
MONEY = {"pipeline_amount_created", "revenue_won"}
TILES = (
    "new_leads",
    "sqls",
    "opportunities_created",
    "pipeline_amount_created",
    "closed_won_opportunities",
    "revenue_won",
    "total_activities",
)


def _asset(name: str) -> str:
    return resources.files("revops.digest").joinpath(name).read_text(encoding="utf-8")


def h(value: object) -> str:
    """HTML-escaped text of a value (None as an en dash)."""
    return "&ndash;" if value is None else html.escape(str(value), quote=True)


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no character can end the element or open
    a comment, whatever the strings hold."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def number(value: object, money: bool = False) -> str:
    """1234 -> '1,234'; money keeps cents when there are any; None -> en dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if money and not value.is_integer():
            return f"{value:,.2f}"
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def percent(value: object) -> str:
    if value is None:
        return "\u2013"
    return f"{float(str(value)):+.1f}%".replace("-", "\u2212")


def rate(value: object) -> str:
    return "\u2013" if value is None else f"{float(str(value)) * 100:.1f}%"


def _trend_class(value: object) -> str:
    if value is None or float(str(value)) == 0:
        return ""
    return "up" if float(str(value)) > 0 else "down"


def _headline(digest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(row["measure"]): row for row in digest["headline"]}


def _tiles(digest: Mapping[str, Any]) -> str:
    rows = _headline(digest)
    out = []
    for measure in TILES:
        row = rows.get(measure, {})
        money = measure in MONEY
        change = row.get("change_vs_7d_pct")
        out.append(
            f'<div class="tile" data-measure="{measure}">'
            f'<span class="label">{h(LABELS[measure])}</span>'
            f'<span class="value">{h(number(row.get("day_value"), money))}</span>'
            f'<span class="cmp">7-day avg {h(number(row.get("prev_7d_avg"), money))}'
            f' <span class="{_trend_class(change)}">({h(percent(change))})</span>'
            f" &middot; 28-day avg {h(number(row.get('prev_28d_avg'), money))}</span>"
            "</div>"
        )
    return "\n".join(out)


def _headline_rows(digest: Mapping[str, Any]) -> str:
    out = []
    for row in digest["headline"]:
        measure = str(row["measure"])
        money = measure in MONEY
        out.append(
            f'<tr data-measure="{h(measure)}"><td>{h(LABELS.get(measure, measure))}</td>'
            f'<td class="num">{h(number(row["day_value"], money))}</td>'
            f'<td class="num">{h(number(row["prev_7d_avg"], money))}'
            f" <small>({h(row['prev_7d_days'])} d)</small></td>"
            f'<td class="num {_trend_class(row["change_vs_7d_pct"])}">'
            f"{h(percent(row['change_vs_7d_pct']))}</td>"
            f'<td class="num">{h(number(row["prev_28d_avg"], money))}'
            f" <small>({h(row['prev_28d_days'])} d)</small></td>"
            f'<td class="num {_trend_class(row["change_vs_28d_pct"])}">'
            f"{h(percent(row['change_vs_28d_pct']))}</td></tr>"
        )
    return "\n".join(out) or '<tr><td colspan="6">no computed days in this window</td></tr>'


def _rep_rows(digest: Mapping[str, Any]) -> str:
    out = [
        f'<tr data-rep-rank="{h(r["rep_rank"])}"><td class="num">{h(r["rep_rank"])}</td>'
        f'<td class="rep-name">{h(r["rep_label"])}</td>'
        f'<td class="num">{h(number(r["revenue_won_7d"], True))}</td>'
        f'<td class="num">{h(number(r["closed_won_opportunities_7d"]))}</td>'
        f'<td class="num">{h(number(r["pipeline_amount_created_7d"], True))}</td>'
        f'<td class="num">{h(number(r["opportunities_created_7d"]))}</td>'
        f'<td class="num">{h(number(r["total_activities_7d"]))}</td>'
        f'<td class="num">{h(number(r["revenue_won_day"], True))}</td>'
        f'<td class="num">{h(number(r["total_activities_day"]))}</td></tr>'
        for r in digest["top_reps"]
    ]
    return "\n".join(out) or '<tr><td colspan="9">no rep activity or pipeline</td></tr>'


def _funnel_rows(digest: Mapping[str, Any]) -> str:
    out = [
        f'<tr class="{"total" if r["is_total"] else ""}"><td>{h(r["lead_source"])}</td>'
        f'<td class="num">{h(number(r["new_leads"]))}</td>'
        f'<td class="num">{h(number(r["sqls"]))}</td>'
        f'<td class="num">{h(number(r["opportunities_created"]))}</td>'
        f'<td class="num">{h(rate(r["lead_to_sql_rate"]))}</td>'
        f'<td class="num">{h(rate(r["sql_to_opportunity_rate"]))}</td>'
        f'<td class="num">{h(rate(r["lead_to_opportunity_rate"]))}</td></tr>'
        for r in digest["funnel"]
    ]
    return "\n".join(out) or '<tr><td colspan="7">no funnel rows</td></tr>'


def _freshness_rows(digest: Mapping[str, Any]) -> str:
    out = []
    for r in digest["freshness"]:
        stale = r["is_stale"]
        name = "newest successful run" if r["table_name"] == "run_log" else r["table_name"]
        out.append(
            f"<tr><td>{h(name)}</td><td>{h(r['last_metric_date'])}</td>"
            f'<td class="num">{h(r["lag_days"])}</td><td class="num">{h(r["max_lag_days"])}</td>'
            f'<td class="{"sev-error" if stale else "sev-ok"}">{"STALE" if stale else "fresh"}</td>'
            f"<td>{h(r['last_run_status'])} {h(r['last_run_at'])}</td></tr>"
        )
    return "\n".join(out)


def _findings(digest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in digest["data_quality"] or [] if c["affected_count"]]


def _data_quality(digest: Mapping[str, Any]) -> str:
    if digest["data_quality"] is None:
        return (
            '<p class="banner warn" id="dq-unavailable">The data-quality checks could not be'
            f" read: {h(digest['data_quality_error'])}</p>"
        )
    rows = []
    for c in digest["data_quality"]:
        found = int(c["affected_count"])
        mark = c["severity"] if found else "ok"
        samples = ", ".join(str(s) for s in c["sample_ids"] or []) if found else ""
        rows.append(
            f'<tr data-check="{h(c["check_name"])}"><td class="sev-{h(mark)}">{h(mark)}</td>'
            f'<td>{h(c["check_name"])}</td><td class="num">{h(number(found))}</td>'
            f"<td>{h(c['description'])}</td><td><code>{h(samples)}</code></td></tr>"
        )
    return (
        '<table id="data-quality"><thead><tr><th>status</th><th>check</th>'
        '<th class="num">rows</th><th>what</th><th>e.g.</th></tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>"
    )


def _run_log(digest: Mapping[str, Any]) -> dict[str, Any] | None:
    return next((r for r in digest["freshness"] if r["table_name"] == "run_log"), None)


def status_lines(digest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(level, text) of the banners at the top: bad, warn or ok."""
    lines = [("bad", f"Missing: {note}") for note in digest["missing"]]
    run_log = _run_log(digest)
    if run_log and run_log["is_stale"]:
        lag = "-" if run_log["lag_days"] is None else run_log["lag_days"]
        stale = (
            f"Metrics are STALE: newest successful day {run_log['last_metric_date'] or 'none'}"
            f" (lag {lag} day(s), allowed {run_log['max_lag_days']})"
        )
        lines.append(("bad", stale))
    findings = _findings(digest)
    if findings:
        lines.append(
            (
                "warn",
                f"Data quality: {len(findings)} check(s) with findings: "
                + ", ".join(f"{c['check_name']} ({c['affected_count']})" for c in findings),
            )
        )
    if not lines:
        lines.append(("ok", "Fresh, and every data-quality check is clean."))
    return lines


def render_html(digest: Mapping[str, Any]) -> str:
    """The whole page (one string, UTF-8 when written)."""
    page_js = _asset("page.js")
    echarts_js = _asset("vendor/echarts.min.js")
    for name, code in (("page.js", page_js), ("echarts.min.js", echarts_js)):
        if "</script" in code.lower() or "<!--" in code:
            raise ValueError(f"{name} cannot be inlined: it holds </script or <!--")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in (echarts_js, page_js)
    )
    day = str(digest["day"])
    subtitle = (
        f"Yesterday in the business time zone (business day today: {digest['business_today']})"
        if digest["is_default_day"]
        else f"Day chosen with --day (business day today: {digest['business_today']})"
    )
    banners = "\n".join(
        f'<p class="banner {level}" data-status="{level}">{h(text)}</p>'
        for level, text in status_lines(digest)
    )
    notice = " ".join(_asset("vendor/NOTICE").split()).replace("--", "- -")
    values = {
        "code_version": h(__version__),
        "script_hashes": hashes,
        "title": h(f"RevOps daily digest: {day}"),
        "subtitle": h(subtitle),
        "banners": banners,
        "day": h(day),
        "tiles": _tiles(digest),
        "headline_rows": _headline_rows(digest),
        "rep_rows": _rep_rows(digest),
        "funnel_rows": _funnel_rows(digest),
        "freshness_rows": _freshness_rows(digest),
        "data_quality": _data_quality(digest),
        "footer": h(
            f"Generated {digest['generated_at']} by `revops report` from the metrics database"
            f" (read as revops_bi). Computed days: {digest['first_computed_date'] or 'none'}"
            f" .. {digest['last_computed_date'] or 'none'}."
        ),
        "echarts_version": ECHARTS_VERSION,
        "echarts_notice": h(notice),
        "echarts_js": echarts_js,
        "data_json": script_json(digest),
        "page_js": page_js,
    }
    return Template(_asset("template.html")).substitute(values)


def md(value: object) -> str:
    """Text made inert for GitHub Markdown (HTML-escaped; table pipes and emphasis escaped)."""
    text = html.escape(str(value), quote=False).replace("\n", " ")
    for char in "\\`*_[]|#~":
        text = text.replace(char, "\\" + char)
    return text


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _versus(row: Mapping[str, Any], window: str, money: bool) -> str:
    average = number(row[f"prev_{window}_avg"], money)
    return f"{average} ({percent(row[f'change_vs_{window}_pct'])})"


def render_markdown(digest: Mapping[str, Any], artifact: str = "") -> str:
    """A short job summary: the headline, the top reps, freshness and data quality."""
    day = str(digest["day"])
    worst = {level for level, _ in status_lines(digest)}
    icon = "\u274c" if "bad" in worst else "\u26a0\ufe0f" if "warn" in worst else "\u2705"
    lines = [f"## {icon} RevOps daily digest: {day}", ""]
    lines += [f"- {md(text)}" for _, text in status_lines(digest)]
    lines.append("")
    if digest["is_day_computed"]:
        rows = _headline(digest)
        lines += _md_table(
            ["measure", day, "avg previous 7 days", "avg previous 28 days"],
            [
                [
                    LABELS[m],
                    number(rows[m]["day_value"], m in MONEY),
                    _versus(rows[m], "7d", m in MONEY),
                    _versus(rows[m], "28d", m in MONEY),
                ]
                for m in TILES
                if m in rows
            ],
        )
        lines.append("")
    if digest["top_reps"]:
        lines.append(f"**Top reps, the 7 days ending {day}** (revenue won, pipeline created):")
        lines += [
            f"{r['rep_rank']}. {md(r['rep_label'])}: {number(r['revenue_won_7d'], True)},"
            f" {number(r['pipeline_amount_created_7d'], True)}"
            for r in digest["top_reps"][:3]
        ]
        lines.append("")
    if artifact:
        lines.append(f"The whole page (charts, funnel, freshness, data quality): {md(artifact)}.")
    return "\n".join(lines) + "\n"
