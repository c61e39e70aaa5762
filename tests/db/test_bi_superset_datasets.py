"""The Superset datasets (bi/assets/datasets) against the real metrics schema, as revops_bi.

For every dataset: its table or view exists in the metrics schema, revops_bi can SELECT it,
every column the YAML lists exists there (same name, a compatible type), and every saved metric
evaluates as revops_bi. And the connection `revops bi init` hands Superset (host, port,
database, password of revops_bi) logs in, and reaches no internals.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import role_connection
from revops import bi, config

pytestmark = pytest.mark.db

# PostgreSQL's data_type -> the type names the YAML may say
COMPATIBLE = {
    "text": {"TEXT", "VARCHAR", "STRING"},
    "date": {"DATE"},
    "bigint": {"BIGINT", "INTEGER"},
    "integer": {"INTEGER", "BIGINT"},
    "numeric": {"NUMERIC", "DECIMAL"},
    "boolean": {"BOOLEAN"},
    "timestamp with time zone": {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"},
}
DATASETS = sorted(
    (name, data)
    for name, data in bi.load_assets(bi.assets_dir()).items()
    if name.startswith("datasets/")
)


@pytest.fixture(scope="module")
def bi_conn(pg_env: dict[str, str]) -> Any:
    with role_connection(pg_env, "revops_bi", config.metrics_db_name(pg_env)) as conn:
        yield conn


@pytest.mark.parametrize(("name", "dataset"), DATASETS, ids=[n for n, _ in DATASETS])
def test_dataset_exists_and_revops_bi_reads_it(
    bi_conn: psycopg.Connection[Any], name: str, dataset: dict[str, Any]
) -> None:
    schema, table = dataset["schema"], dataset["table_name"]
    assert dataset.get("sql") is None, "physical datasets only: the views hold the logic"
    actual = dict(
        bi_conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        ).fetchall()
    )
    assert actual, f"{schema}.{table} does not exist (or revops_bi cannot see it)"
    relation = sql.Identifier(schema, table)
    bi_conn.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(relation)).fetchall()
    for column in dataset["columns"]:
        column_name = column["column_name"]
        assert column_name in actual, f"{name}: no column {column_name} in {schema}.{table}"
        assert column["type"] in COMPATIBLE[actual[column_name]], (name, column_name)
        assert column["is_dttm"] == (actual[column_name] in {"date", "timestamp with time zone"})
    for metric in dataset["metrics"]:
        # the expression is repository content (bi/assets), evaluated as Superset would
        expression = sql.SQL(metric["expression"])  # type: ignore[arg-type]
        bi_conn.execute(sql.SQL("SELECT {} FROM {}").format(expression, relation)).fetchall()


def test_the_connection_init_hands_superset_logs_in_as_revops_bi(
    pg_env: dict[str, str],
) -> None:
    target = bi.bi_database(pg_env)
    assert target.host == "127.0.0.1" and target.dbname == config.metrics_db_name(pg_env)
    assert f"@127.0.0.1:{target.port}/" in target.sqlalchemy_uri()
    with psycopg.connect(
        host=target.host,
        port=target.port,
        dbname=target.dbname,
        user="revops_bi",
        password=target.password,
        connect_timeout=10,
        autocommit=True,
    ) as conn:
        row = conn.execute("SELECT current_user, count(*) FROM metrics.dim_date").fetchone()
        assert row is not None and row[0] == "revops_bi" and row[1] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM metrics.run_log LIMIT 1")
