"""The ingest benchmark (``invoke bench-ingest --scale S``): records/second, ratio to plain COPY.

It writes its own synthetic export (a bulk JSON array of all-string Leads and Opportunities and
a JSON Lines file of Tasks, Salesforce-style 15-character Ids), ingests it with the real loader,
then COPYs the very same mapped rows straight into the same ``crm`` tables and compares. Every
benchmark row has an Id starting ``bench`` and is deleted afterwards, with its batches.
Not a timed test: it prints numbers.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from psycopg import sql

from revops import config
from revops.db import connect
from revops.ingest import fields
from revops.ingest.load import Loader
from revops.ingest.pipeline import Loaded, Options, Processor
from revops.ingest.sources import expand

RECORDS_AT_SCALE_1 = 100_000
STAGES = ["Prospecting", "Qualification", "Closed Won", "Closed Lost"]


def _id(prefix: str, number: int) -> str:
    return f"bench{prefix}{number:010d}"  # 15 characters: normalised to 18 on the way in


def write_export(directory: Path, records: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    leads, opps = records * 2 // 5, records // 5
    tasks = records - leads - opps
    bulk = directory / "bulk.json"
    with bulk.open("w") as fh:
        fh.write("[")
        for i in range(leads + opps):
            row: dict[str, Any]
            stamp = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00.000Z"
            if i < leads:
                row = {
                    "Id": _id("00Q", i),
                    "OwnerId": _id("005", rng.randint(1, 50)),
                    "Owner.Name": "Rep",
                    "Status": rng.choice(["Open", "Working", "Qualified"]),
                    "LeadSource": rng.choice(["Web", "Partner", ""]),
                    "IsConverted": "false",
                    "ConvertedDate": "",
                    "CreatedDate": stamp,
                    "SystemModstamp": stamp,
                    "Company": f"Company {i}",
                    "Custom__c": "x" * rng.randint(0, 40),
                }
            else:
                row = {
                    "attributes": {"type": "Opportunity"},
                    "Id": _id("006", i),
                    "OwnerId": _id("005", rng.randint(1, 50)),
                    "StageName": rng.choice(STAGES),
                    "Amount": f"{rng.randint(100, 100000)}.{rng.randint(0, 99):02d}",
                    "CloseDate": stamp[:10],
                    "IsWon": "false",
                    "CreatedDate": stamp,
                    "SystemModstamp": stamp,
                }
            fh.write(("," if i else "") + json.dumps(row))
        fh.write("]")
    jsonl = directory / "tasks.jsonl"
    with jsonl.open("w") as fh:
        for i in range(tasks):
            record = {
                "Id": _id("00T", i),
                "OwnerId": _id("005", rng.randint(1, 50)),
                "WhoId": _id("00Q", rng.randrange(max(leads, 1))),
                "TaskSubtype": rng.choice(["Call", "Email", "Task"]),
                "ActivityDate": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "Status": "Completed",
                "CreatedDate": "2024-01-01T00:00:00Z",
            }
            fh.write(json.dumps({"type": "RECORD", "stream": "Task", "record": record}) + "\n")
    return [bulk, jsonl]


def _cleanup(conn: Any, batch_ids: list[int]) -> None:
    for spec in fields.SPECS.values():
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} LIKE 'bench%'").format(
                sql.Identifier("crm", spec.table), sql.Identifier(spec.key)
            )
        )
    if batch_ids:
        conn.execute("DELETE FROM crm.load_errors WHERE batch_id = ANY(%s)", (batch_ids,))
        conn.execute("DELETE FROM crm.ingest_batches WHERE batch_id = ANY(%s)", (batch_ids,))


def _plain_copy(conn: Any, files: list[Path]) -> tuple[int, float]:
    """COPY the same mapped rows straight into the crm tables; returns (rows, seconds)."""
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in fields.SPECS}
    for path in files:
        with path.open("rb") as fh:
            for item in Processor(fh, Options(object_type="Lead", scope=str(path.parent))):
                if isinstance(item, Loaded):
                    rows[item.row.table].append((*item.row.values, item.row.raw))
    started = time.perf_counter()
    with conn.transaction():
        for table, values in rows.items():
            if not values:
                continue
            spec = fields.SPECS[table]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier("crm", table),
                sql.SQL(", ").join(sql.Identifier(c) for c in [*spec.column_names, "raw"]),
            )
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
    return sum(len(v) for v in rows.values()), time.perf_counter() - started


def run_benchmark(env: Mapping[str, str], scale: float) -> dict[str, Any]:
    """Generate ``scale`` x 100k records, ingest them, compare with plain COPY; print and return."""
    records = max(10, int(RECORDS_AT_SCALE_1 * scale))
    target = config.role_target("revops_etl", env)
    with (
        tempfile.TemporaryDirectory(prefix="revops-bench-") as tmp,
        connect(target, config.source_db_name(env), application="revops-bench") as conn,
    ):
        files = write_export(Path(tmp), records)
        size = sum(p.stat().st_size for p in files)
        _cleanup(conn, [])
        loader = Loader(conn, object_type="Lead", progress=lambda m: print(m, file=sys.stderr))
        started = time.perf_counter()
        results = loader.load(expand([str(p) for p in files]).work)
        ingest_seconds = time.perf_counter() - started
        batch_ids = [r.batch_id for r in results if r.batch_id is not None]
        loaded = sum(r.loaded for r in results)
        started = time.perf_counter()
        again = loader.load(expand([str(p) for p in files]).work)
        reingest_seconds = time.perf_counter() - started
        batch_ids += [r.batch_id for r in again if r.batch_id is not None]
        _cleanup(conn, batch_ids)
        copied, copy_seconds = _plain_copy(conn, files)
        _cleanup(conn, [])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {
        "records": records,
        "input_bytes": size,
        "loaded": loaded,
        "rejected": sum(r.rejected for r in results),
        "ingest_seconds": round(ingest_seconds, 3),
        "records_per_second": round(records / ingest_seconds),
        "reingest_seconds": round(reingest_seconds, 3),
        "reingest_unchanged": sum(r.unchanged for r in again),
        "plain_copy_rows": copied,
        "plain_copy_seconds": round(copy_seconds, 3),
        "plain_copy_rows_per_second": round(copied / copy_seconds) if copy_seconds else None,
        "ratio_to_plain_copy": round(ingest_seconds / copy_seconds, 2) if copy_seconds else None,
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    print(
        f"ingest: {records} records ({size / 1e6:.1f} MB) in {ingest_seconds:.2f}s ="
        f" {report['records_per_second']} records/s; plain COPY of the same rows"
        f" {copy_seconds:.2f}s; ratio {report['ratio_to_plain_copy']}x;"
        f" re-ingest (all unchanged) {reingest_seconds:.2f}s; peak RSS {report['peak_rss_mb']} MB"
    )
    return report
