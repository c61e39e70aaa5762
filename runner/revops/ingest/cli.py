"""``revops ingest PATH... [--object TYPE] [--json] [--retry-failed [--older-than MIN]]``:
load exports into crm, report every record. A PATH may be ``s3://bucket/prefix/``
(:mod:`revops.ingest.s3`: each object under it not loaded yet, marked once loaded).

Exit codes: 0 everything read was loaded or skipped; 1 something was rejected (quarantined in
``crm.load_errors``: bad records, files that are not JSON, sf CLI error envelopes, files a plan
names but that are missing), a file failed, an entry that looks like an export was ignored, a
failed batch could not be retried, or a loaded S3 object could not be marked; 2 a path matched
nothing, bad settings, or S3 unusable (boto3 missing, no credentials, listing denied).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from revops.ingest.load import FileResult

if TYPE_CHECKING:
    from revops.ingest.retry import RetryReport
    from revops.ingest.s3 import S3Report
    from revops.ingest.sources import Expansion

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ingest`` subcommand to the ``revops`` parser."""
    parser = sub.add_parser(
        "ingest",
        help="load Salesforce-style JSON exports into crm.* (upsert by Id, quarantine bad records)",
        description=(
            "Load REST query pages, sf CLI --json output, sf tree exports (directories with a"
            " plan load through it), bulk JSON arrays and JSON Lines (Singer, Airbyte, bare"
            " records). The shape is detected from the content. Records upsert by Id, last"
            " writer wins on SystemModstamp/LastModifiedDate; bad records go to crm.load_errors."
        ),
        epilog="Exit codes: 0 all loaded or skipped, 1 something rejected or failed (or an"
        " ignored entry looks like an export, or an S3 object could not be marked), 2 a path"
        " matched nothing or S3 cannot be listed, 4 no database connection. Limits: REVOPS_INGEST_MAX_DEPTH (64), REVOPS_INGEST_MIN_YEAR (1970),"
        " REVOPS_INGEST_MAX_YEAR (2100).",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, directories, globs, - for stdin, or s3://bucket/prefix/ (objects not"
        " loaded yet; needs the aws extra)",
    )
    parser.add_argument(
        "--s3-mark",
        choices=("tag", "move"),
        default="tag",
        help="after loading an S3 object: tag it revops:ingest=processed and"
        " revops-ingested=<batch> (default), or move it under processed/",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="load again the sources of failed batches and of batches left running (killed,"
        " server stopped) for longer than --older-than minutes",
    )
    parser.add_argument(
        "--older-than",
        type=_minutes,
        default=60,
        metavar="MINUTES",
        help="a running batch is retried once its session is gone and it is this old (default 60)",
    )
    parser.add_argument(
        "--object",
        dest="object_type",
        metavar="TYPE",
        help="object type for records whose envelope names none (e.g. Lead for a bare array)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    parser.set_defaults(func=cmd_ingest)


def _minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of minutes: {text!r}") from None
    if not 0 <= value <= 525_600:
        raise argparse.ArgumentTypeError("minutes must be between 0 and 525600 (a year)")
    return value


def cmd_ingest(args: argparse.Namespace) -> int:
    from revops import config
    from revops.db import connect
    from revops.ingest import s3
    from revops.ingest.limits import Limits
    from revops.ingest.load import Loader
    from revops.ingest.retry import RetryReport, retry_failed
    from revops.ingest.session import ingest_session
    from revops.ingest.sources import Expansion, expand

    if not args.paths and not args.retry_failed:
        _progress("ingest: name at least one PATH, or --retry-failed")
        return EXIT_USAGE
    limits = Limits.from_env()
    local = [p for p in args.paths if not s3.is_s3(p)]
    uris = [p for p in args.paths if s3.is_s3(p)]
    expansion = expand(local) if local else Expansion()
    if expansion.not_found:
        for arg in expansion.not_found:
            _progress(f"ingest: no such file, directory or match: {arg}")
        return EXIT_USAGE
    for path in expansion.ignored:
        note = " (looks like an export)" if path in expansion.looks_like_export else ""
        _progress(f"ingest: ignored ({expansion.reasons.get(path, 'not JSON')}){note}: {path}")
    s3_client: Any = None
    objects: list[s3.S3Object] = []
    if uris:  # listed before the database is touched: S3 trouble loads nothing
        try:
            s3_client = s3.client()
            objects = s3.list_all(s3_client, uris)
        except s3.S3Error as exc:
            _progress(f"ingest: {exc}")
            return EXIT_USAGE
        if not objects:
            _progress(f"ingest: no objects under {', '.join(uris)}")
    target = config.role_target("revops_etl")
    retry = RetryReport()
    s3_report = s3.S3Report()
    with (
        connect(target, config.source_db_name(), application="revops-ingest") as conn,
        ingest_session(conn),
    ):
        if args.retry_failed:
            retry = retry_failed(conn, args.older_than, limits=limits, progress=_progress)
        loader = Loader(conn, object_type=args.object_type, progress=_progress, limits=limits)
        results = [*retry.results, *loader.load(expansion.work)]
        if objects:
            s3_report = s3.load_objects(
                conn, loader, s3_client, objects, how=args.s3_mark, progress=_progress
            )
            results.extend(s3_report.results)
    report = summarise(results, expansion.ignored, expansion, retry, s3_report)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    problems = (
        report["rejected"]
        or report["failed_files"]
        or report["ignored_exports"]
        or report["not_retried"]
        or report["s3_not_marked"]
    )
    return EXIT_REJECTED if problems else EXIT_OK


def summarise(
    results: Sequence[FileResult],
    ignored: Sequence[str] = (),
    expansion: Expansion | None = None,
    retry: RetryReport | None = None,
    s3_report: S3Report | None = None,
) -> dict[str, Any]:
    files = [r.as_dict() for r in results]
    return {
        "files": files,
        "ignored": list(ignored),
        "ignored_reasons": dict(expansion.reasons) if expansion is not None else {},
        "ignored_exports": list(expansion.looks_like_export) if expansion is not None else [],
        "retried": {str(k): v for k, v in retry.retried.items()} if retry is not None else {},
        "not_retried": (
            {str(k): v for k, v in retry.not_retried.items()} if retry is not None else {}
        ),
        "records_in": sum(r.records_in for r in results),
        "loaded": sum(r.loaded for r in results),
        "rejected": sum(r.rejected for r in results),
        "skipped": sum(r.skipped for r in results),
        "inserted": sum(r.inserted for r in results),
        "updated": sum(r.updated for r in results),
        "unchanged": sum(r.unchanged for r in results),
        "failed_files": [r.source for r in results if r.status == "failed"],
        "s3_already_loaded": dict(s3_report.skipped) if s3_report is not None else {},
        "s3_not_marked": dict(s3_report.not_marked) if s3_report is not None else {},
    }


def render(report: dict[str, Any]) -> str:
    lines = []
    for item in report["files"]:
        line = (
            f"{item['source']}: {item['shape']}, in {item['records_in']}, loaded {item['loaded']}"
            f" ({item['inserted']} new, {item['updated']} updated, {item['unchanged']} unchanged),"
            f" rejected {item['rejected']}, skipped {item['skipped']}"
            f" [batch {item['batch_id']}, {item['status']}]"
        )
        lines.append(line)
        for reason, count in sorted(item["reject_reasons"].items()):
            positions = ", ".join(
                "file" if p is None else str(p) for p in item["rejected_positions"][:10]
            )
            lines.append(f"    rejected {count} x {reason} (positions: {positions})")
        for kind, count in sorted(item["skipped_types"].items()):
            lines.append(f"    skipped {count} x {kind}")
        for name in item["details"].get("missing_files", []):
            lines.append(f"    missing file named by the plan: {name}")
    lines.append(
        f"total: in {report['records_in']}, loaded {report['loaded']} ({report['inserted']} new,"
        f" {report['updated']} updated, {report['unchanged']} unchanged), rejected"
        f" {report['rejected']}, skipped {report['skipped']}"
    )
    if report["rejected"]:
        lines.append("rejected records are in crm.load_errors (batch ids above)")
    for path in report["ignored_exports"]:
        reason = report["ignored_reasons"].get(path, "not JSON")
        lines.append(f"ignored, yet looks like an export ({reason}): {path}")
    for old, new in report["retried"].items():
        lines.append(f"batch {old} retried as batch {new}")
    for old, why in report["not_retried"].items():
        lines.append(f"batch {old} not retried: {why}")
    if report["s3_already_loaded"]:
        lines.append(f"already loaded, skipped: {len(report['s3_already_loaded'])} S3 object(s)")
    for uri, why in report["s3_not_marked"].items():
        lines.append(f"{uri}: {why}")
    return "\n".join(lines)
