"""The digest page as a document (no database): escaping, self-containment, the CSP, formats.

The digest dict below has the shape revops.digest.data.collect returns; its rep names and
sample Ids carry markup, as a CRM can.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from revops.cli import build_parser
from revops.digest import page

EVIL = '</script><script>alert("pwned")</script>'
SCRIPT_TAG = "<script>"


def digest() -> dict[str, Any]:
    return {
        "day": "2025-04-30",
        "is_default_day": True,
        "yesterday": "2025-04-30",
        "business_today": "2025-05-01",
        "first_computed_date": "2025-01-01",
        "last_computed_date": "2025-04-30",
        "is_day_computed": True,
        "generated_at": "2025-05-01T08:00:00+00:00",
        "headline": [
            {
                "measure": m,
                "day_value": 3,
                "prev_7d_total": 3,
                "prev_7d_days": 7,
                "prev_7d_avg": 0.43,
                "change_vs_7d_pct": 600.0,
                "prev_28d_total": 4,
                "prev_28d_days": 28,
                "prev_28d_avg": 0.14,
                "change_vs_28d_pct": -2000.0,
            }
            for m in page.LABELS
        ],
        "series": [
            {
                "metric_date": "2025-04-29",
                "is_computed": True,
                "new_leads": 1,
                "sqls": 0,
                "opportunities_created": 0,
                "total_activities": 1,
                "pipeline_amount_created": 0,
                "revenue_won": 0,
            },
        ],
        "top_reps": [
            {
                "rep_rank": 1,
                "rep_id": "R1",
                "rep_name": EVIL,
                "rep_label": EVIL,
                "rep_kind": "user",
                "revenue_won_7d": 1234.5,
                "closed_won_opportunities_7d": 1,
                "pipeline_amount_created_7d": 1000,
                "opportunities_created_7d": 1,
                "total_activities_7d": 2,
                "revenue_won_day": 0,
                "total_activities_day": 1,
            },
            {
                "rep_rank": 2,
                "rep_id": "R2",
                "rep_name": SCRIPT_TAG,
                "rep_label": SCRIPT_TAG,
                "rep_kind": "user",
                "revenue_won_7d": 0,
                "closed_won_opportunities_7d": 0,
                "pipeline_amount_created_7d": 0,
                "opportunities_created_7d": 0,
                "total_activities_7d": 1,
                "revenue_won_day": 0,
                "total_activities_day": 0,
            },
        ],
        "funnel": [
            {
                "is_total": True,
                "lead_source": "All sources",
                "new_leads": 7,
                "sqls": 1,
                "opportunities_created": 4,
                "lead_to_sql_rate": 0.1429,
                "sql_to_opportunity_rate": 4.0,
                "lead_to_opportunity_rate": 0.5714,
            },
            {
                "is_total": False,
                "lead_source": "<img src=x onerror=alert(1)>",
                "new_leads": 7,
                "sqls": 1,
                "opportunities_created": 4,
                "lead_to_sql_rate": 0.1429,
                "sql_to_opportunity_rate": None,
                "lead_to_opportunity_rate": 0.5714,
            },
        ],
        "freshness": [
            {
                "table_name": "run_log",
                "last_metric_date": "2025-04-30",
                "lag_days": 0,
                "max_lag_days": 2,
                "is_stale": False,
                "last_run_status": "succeeded",
                "last_run_at": "2025-05-01T06:30:00+00:00",
            },
        ],
        "data_quality": [
            {
                "check_name": "unknown_owner",
                "severity": "warning",
                "affected_count": 2,
                "sample_ids": ["<b>005X</b>"],
                "description": "rows whose owner Id is not known",
            },
            {
                "check_name": "stale_metrics",
                "severity": "error",
                "affected_count": 0,
                "sample_ids": ["2025-04-30"],
                "description": "stale",
            },
        ],
        "data_quality_error": None,
        "missing": [],
    }


def blob(text: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="digest-data">(.*?)</script>', text, re.DOTALL
    )
    assert match, "no data blob"
    return json.loads(match.group(1))


def inline_scripts(text: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", text, re.DOTALL)


def without_scripts_and_comments(text: str) -> str:
    text = re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


@pytest.fixture(scope="module")
def html_text() -> str:
    return page.render_html(digest())


def test_database_text_is_escaped_everywhere(html_text: str) -> None:
    markup = without_scripts_and_comments(html_text)
    # nothing from the data became an element: the only tags are the template's own
    assert "<script" not in markup and "<img" not in markup and "<b>" not in markup
    assert html_text.count("<script") == 3  # ECharts, the JSON blob, the page script
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in markup
    assert "&lt;script&gt;" in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&lt;b&gt;005X&lt;/b&gt;" in markup
    # the JSON blob cannot close its element, and reads back to the exact names
    data = blob(html_text)
    assert [r["rep_name"] for r in data["top_reps"]] == [EVIL, SCRIPT_TAG]
    raw = re.search(r'id="digest-data">(.*?)</script>', html_text, re.DOTALL)
    assert raw is not None and "<" not in raw.group(1) and ">" not in raw.group(1)


def test_script_json_is_inert_inside_a_script_element() -> None:
    text = page.script_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_the_page_loads_nothing_from_anywhere(html_text: str) -> None:
    # no src/href/... anywhere in the file (scripts included) points at a remote address,
    # absolute or protocol-relative
    remote = r"""\b(?:src|href|action|srcset|poster)\s*=\s*["']?\s*(?:https?:)?//"""
    assert not re.search(remote, html_text, re.IGNORECASE)
    # the markup (scripts left out: ECharts' own code builds an <img> for "save as image")
    # has no element that loads anything and no external script
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html_text, flags=re.DOTALL)
    assert not re.search(
        r"<(?:link|iframe|object|embed|img|base|audio|video)\b", markup, re.IGNORECASE
    )
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html_text, re.IGNORECASE)
    assert "url(" not in markup  # no CSS assets
    # outside the inlined scripts, a URL appears only in the licence comment
    comments = re.findall(r"<!--.*?-->", markup, flags=re.DOTALL)
    assert re.findall(r"https?://", re.sub(r"<!--.*?-->", "", markup, flags=re.DOTALL)) == []
    assert any(
        "Apache License" in c and "http://www.apache.org/licenses/LICENSE-2.0" in c
        for c in comments
    )


def test_the_csp_allows_exactly_the_inline_scripts(html_text: str) -> None:
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html_text)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    scripts = inline_scripts(html_text)
    assert len(scripts) == 2
    for code in scripts:
        digest_b64 = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest_b64}'" in policy
    assert scripts[0].startswith("\n/*\n* Licensed to the Apache Software Foundation")  # ECharts


def test_echarts_is_vendored_with_its_licence() -> None:
    from importlib import resources

    vendor = resources.files("revops.digest").joinpath("vendor")
    names = {p.name for p in vendor.iterdir()}
    assert {"echarts.min.js", "LICENSE", "NOTICE", "README.md"} <= names
    assert "Apache License" in vendor.joinpath("LICENSE").read_text()
    assert page.ECHARTS_VERSION in vendor.joinpath("README.md").read_text()
    code = vendor.joinpath("echarts.min.js").read_bytes()
    readme = vendor.joinpath("README.md").read_text()
    assert hashlib.sha256(code).hexdigest() in readme


def test_tiles_and_numbers(html_text: str) -> None:
    assert '<div class="tile" data-measure="new_leads">' in html_text
    assert page.number(1234) == "1,234"
    assert page.number(1234.5, money=True) == "1,234.50"
    assert page.number(1000.0, money=True) == "1,000"
    assert page.number(0.43) == "0.43"
    assert page.number(None) == "\u2013"
    assert page.percent(600.0) == "+600.0%"
    assert page.percent(-41.7) == "\u221241.7%"
    assert page.rate(0.1429) == "14.3%"
    assert page.rate(None) == "\u2013"


def test_missing_day_and_unreadable_checks_are_stated_not_fatal() -> None:
    d = copy.deepcopy(digest())
    d.update(is_day_computed=False, headline=[], series=[], top_reps=[], funnel=[])
    d.update(data_quality=None, data_quality_error="could not connect to server <x>")
    d["missing"] = ["2025-04-30 has not been computed", "the data-quality checks could not be read"]
    text = page.render_html(d)
    assert "Missing: 2025-04-30 has not been computed" in text
    assert 'id="dq-unavailable"' in text and "could not connect to server &lt;x&gt;" in text
    summary = page.render_markdown(d)
    assert summary.startswith("## \u274c RevOps daily digest: 2025-04-30")
    assert "| measure |" not in summary


def test_markdown_summary_escapes_names() -> None:
    summary = page.render_markdown(digest(), artifact="revops-digest-2025-04-30.html")
    assert "<script>" not in summary and "&lt;/script&gt;" in summary
    assert "1. &lt;/script&gt;&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" not in summary
    assert (
        '1. &lt;/script&gt;&lt;script&gt;alert("pwned")&lt;/script&gt;: 1,234.50, 1,000' in summary
    )
    assert "| New leads | 3 | 0.43 (+600.0%) | 0.14 (\u22122000.0%) |" in summary
    assert "- Data quality: 1 check(s) with findings: unknown\\_owner (2)" in summary
    assert page.md("a|b*c_d") == "a\\|b\\*c\\_d"


def test_report_is_a_command_with_checked_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["report", "--day", "2025-04-30", "--top", "3"])
    assert args.command == "report" and args.top == 3
    for bad in (["report", "--day", "yesterday"], ["report", "--top", "0"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(bad)
        assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_the_direct_job_attaches_the_digest() -> None:
    workflow = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "daily-metrics.yml"
    steps = yaml.safe_load(workflow.read_text())["jobs"]["direct"]["steps"]
    names = [s.get("name", "") for s in steps]
    build = steps[names.index("Build the daily digest")]
    upload = steps[names.index("Attach the daily digest")]
    assert names.index("Check freshness") < names.index("Build the daily digest")
    assert build["run"] == "bash scripts/ci/digest.sh"
    assert build["if"] == upload["if"] == "${{ !cancelled() }}"
    assert build["env"]["PG_BI_PASSWORD"] == "${{ secrets.PG_BI_PASSWORD }}"
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "daily-digest"
    assert upload["with"]["path"].rstrip("/") == build["env"]["DIGEST_DIR"]
