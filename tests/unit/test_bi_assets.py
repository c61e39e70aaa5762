"""The Superset assets (bi/assets) and their bundle builder, without Superset or a server.

- every YAML file parses and every uuid reference resolves (dataset -> database, chart ->
  dataset, dashboard -> chart, filter -> dataset, filter scope -> chart); the checker itself
  catches each kind of broken reference;
- the connection is revops_bi, read-only (no DML, CTAS, CVAS, uploads) and holds no password;
- the dashboard has the Date, Lead source and Rep filters and a freshness tile that turns red;
- the bundle builder points the connection at the target, keeps the password out of every
  file it writes, and removes its private (0700) directory;
- bi/superset_config.py takes SECRET_KEY from the environment, else a generated 0600 file, and
  refuses revops_bi as Superset's metadata database.
"""

from __future__ import annotations

import copy
import importlib.util
import stat
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from revops import bi

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "bi" / "assets"
PASSWORD = "pw-Unit-Test-7f3a!:@/"  # characters a URI would have to escape
DATABASE = bi.BiDatabase("10.1.2.3", 6543, "revops_metrics", PASSWORD)


@pytest.fixture(scope="module")
def assets() -> dict[str, dict[str, Any]]:
    return bi.load_assets(ASSETS)


def by_kind(assets: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: data for name, data in assets.items() if name.startswith(f"{kind}/")}


def test_every_file_parses_and_every_reference_resolves(assets: dict[str, Any]) -> None:
    files = sorted(p.relative_to(ASSETS).as_posix() for p in ASSETS.rglob("*"))
    assert [f for f in files if not f.endswith(".yaml") and "." in Path(f).name] == []
    assert len(by_kind(assets, "databases")) == 1
    assert len(by_kind(assets, "dashboards")) == 1
    assert len(by_kind(assets, "charts")) >= 8
    assert bi.check_references(assets) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda a: a["charts/rep_activity.yaml"].update(dataset_uuid="0" * 32),
            "charts/rep_activity.yaml: dataset_uuid",
        ),
        (
            lambda a: a["datasets/revops_metrics/dim_rep.yaml"].update(database_uuid="1" * 32),
            "datasets/revops_metrics/dim_rep.yaml: database_uuid",
        ),
        (
            lambda a: a["charts/freshness.yaml"].update(uuid=a["charts/rep_activity.yaml"]["uuid"]),
            "also used by",
        ),
        (
            lambda a: a["dashboards/revops_metrics.yaml"]["position"]["CHART-freshness"][
                "meta"
            ].update(uuid="2" * 32),
            "which is no chart",
        ),
        (
            lambda a: a["dashboards/revops_metrics.yaml"]["metadata"][
                "native_filter_configuration"
            ][1]["targets"][0].update(datasetUuid="3" * 32),
            "filter 'Lead source' targets",
        ),
        (
            lambda a: a["dashboards/revops_metrics.yaml"]["metadata"][
                "native_filter_configuration"
            ][2]["scope"]["excluded"].append(999),
            "excludes chart 999",
        ),
    ],
)
def test_the_checker_finds_broken_references(
    assets: dict[str, Any], break_it: Any, expected: str
) -> None:
    broken = copy.deepcopy(assets)
    break_it(broken)
    problems = bi.check_references(broken)
    assert any(expected in p for p in problems), problems


def test_the_connection_is_read_only_revops_bi_without_password(assets: dict[str, Any]) -> None:
    ((name, database),) = by_kind(assets, "databases").items()
    uri = database["sqlalchemy_uri"]
    assert uri.startswith(f"postgresql+psycopg2://revops_bi:{bi.PASSWORD_MASK}@"), uri
    assert "password" not in database
    for flag in ("allow_dml", "allow_ctas", "allow_cvas", "allow_file_upload", "allow_run_async"):
        assert database[flag] is False, flag
    assert database["impersonate_user"] is False
    raw = (ASSETS / name).read_text()
    assert "password:" not in raw.lower()


def test_datasets_cover_facts_dimensions_and_bi_views(assets: dict[str, Any]) -> None:
    tables = {(d["schema"], d["table_name"]) for d in by_kind(assets, "datasets").values()}
    assert {
        ("metrics", "daily_lead_funnel"),
        ("metrics", "rep_daily_activity"),
        ("metrics", "rep_daily_pipeline"),
        ("metrics", "lead_stage_snapshot"),
        ("metrics", "dim_date"),
        ("metrics", "dim_rep"),
        ("metrics", "bi_pipeline_freshness"),
        ("metrics", "bi_rep_scorecard"),
    } <= tables
    for name, dataset in by_kind(assets, "datasets").items():
        columns = {c["column_name"] for c in dataset["columns"]}
        assert dataset["main_dttm_col"] in columns, name
        for metric in dataset["metrics"]:
            assert metric["expression"], (name, metric)


def test_charts_use_metrics_and_columns_their_dataset_has(assets: dict[str, Any]) -> None:
    datasets = {d["uuid"]: d for d in by_kind(assets, "datasets").values()}
    for name, chart in by_kind(assets, "charts").items():
        dataset = datasets[chart["dataset_uuid"]]
        metrics = {m["metric_name"] for m in dataset["metrics"]}
        columns = {c["column_name"] for c in dataset["columns"]}
        params = chart["params"]
        used = list(params.get("metrics", [])) + ([params["metric"]] if "metric" in params else [])
        assert used and set(used) <= metrics, (name, used)
        named = [
            *params.get("groupby", []),
            *params.get("groupbyRows", []),
            *params.get("groupbyColumns", []),
            *([params["x_axis"]] if "x_axis" in params else []),
            *(f["subject"] for f in params.get("adhoc_filters", [])),
        ]
        assert set(named) <= columns, (name, set(named) - columns)


def test_the_dashboard_has_its_filters_and_a_red_freshness_tile(assets: dict[str, Any]) -> None:
    ((_, dashboard),) = by_kind(assets, "dashboards").items()
    filters = dashboard["metadata"]["native_filter_configuration"]
    assert [(f["name"], f["filterType"]) for f in filters] == [
        ("Date", "filter_time"),
        ("Lead source", "filter_select"),
        ("Rep", "filter_select"),
    ]
    datasets = {d["uuid"]: d for d in by_kind(assets, "datasets").values()}
    targets = {f["name"]: f["targets"][0] for f in filters if f["filterType"] == "filter_select"}
    assert targets["Lead source"]["column"]["name"] == "lead_source"
    assert datasets[targets["Rep"]["datasetUuid"]]["table_name"] == "dim_rep"
    freshness = assets["charts/freshness.yaml"]
    dataset = datasets[freshness["dataset_uuid"]]
    assert dataset["table_name"] == "bi_pipeline_freshness"
    rules = freshness["params"]["conditional_formatting"]
    assert {"operator": ">", "targetValue": 0, "colorScheme": "#E04355"}.items() <= rules[0].items()
    on_dashboard = set(bi.chart_uuids_in_position(dashboard["position"]).values())
    assert on_dashboard == {c["uuid"] for c in by_kind(assets, "charts").values()}


def test_bundle_points_at_the_target_and_never_holds_the_password(tmp_path: Path) -> None:
    count = bi.write_bundle(tmp_path, DATABASE, ASSETS)
    assert count == len(list(ASSETS.rglob("*.yaml")))
    database = yaml.safe_load((tmp_path / "databases" / "revops_metrics.yaml").read_text())
    assert database["sqlalchemy_uri"] == (
        f"postgresql+psycopg2://revops_bi:{bi.PASSWORD_MASK}@10.1.2.3:6543/revops_metrics"
    )
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_bundle_with_sslmode() -> None:
    database = bi.BiDatabase("db.internal", 5432, "revops_metrics", PASSWORD, "verify-full")
    assert database.sqlalchemy_uri().endswith("/revops_metrics?sslmode=verify-full")


def test_private_bundle_is_0700_and_removed(tmp_path: Path) -> None:
    with bi.private_bundle(DATABASE, ASSETS) as directory:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert (directory / "metadata.yaml").exists()
        kept = directory
    assert not kept.exists()


def test_bundle_refuses_broken_references(tmp_path: Path) -> None:
    broken = tmp_path / "assets"
    broken.mkdir()
    for path in ASSETS.rglob("*.yaml"):
        target = broken / path.relative_to(ASSETS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    chart = broken / "charts" / "rep_activity.yaml"
    data = yaml.safe_load(chart.read_text())
    data["dataset_uuid"] = "00000000-0000-0000-0000-000000000000"
    chart.write_text(yaml.safe_dump(data))
    with pytest.raises(bi.config.ConfigError, match="rep_activity"):
        bi.write_bundle(tmp_path / "out", DATABASE, broken)


def test_bundle_zip_for_the_import_dialog(tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    count = bi.write_bundle_zip(out, DATABASE, ASSETS)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert len(names) == count
        assert "revops_bi_assets/metadata.yaml" in names
        assert all(PASSWORD.encode() not in archive.read(n) for n in names)


def test_admin_password_is_generated_once_and_private(tmp_path: Path) -> None:
    env = {"REVOPS_BI_HOME": str(tmp_path / "bi")}
    first = bi.admin_password(env)
    assert first == bi.admin_password(env) and len(first) >= 32
    assert stat.S_IMODE((tmp_path / "bi" / "secrets.json").stat().st_mode) == 0o600
    assert bi.admin_password({**env, "REVOPS_BI_ADMIN_PASSWORD": "given"}) == "given"


def test_locations_follow_the_local_state_dir(tmp_path: Path) -> None:
    env = {"REVOPS_HOME": str(tmp_path)}
    assert bi.bi_home(env) == tmp_path / "bi"
    assert bi.venv_dir(env) == tmp_path / "bi" / "venv"
    assert bi.venv_dir({**env, "REVOPS_BI_VENV": str(tmp_path / "v")}) == tmp_path / "v"


def test_serve_binds_loopback_only(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "superset").touch()
    argv = bi.serve_argv({"REVOPS_BI_VENV": str(venv)}, 8123)
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"


def test_external_server_needs_the_bi_password(tmp_path: Path) -> None:
    env = {"PGHOST": "db.internal", "REVOPS_HOME": str(tmp_path)}
    with pytest.raises(bi.config.ConfigError, match="REVOPS_BI_PASSWORD"):
        bi.bi_database(env)
    got = bi.bi_database({**env, "REVOPS_BI_PASSWORD": "s3cret", "PGPORT": "6432"})
    assert (got.host, got.port, got.password) == ("db.internal", 6432, "s3cret")
    assert bi.bi_database(env, with_password=False).password == ""
    # through an SSM port forward: only the BI variables, no PG* ones
    forwarded = {
        "REVOPS_HOME": str(tmp_path),
        "REVOPS_BI_DB_HOST": "127.0.0.1",
        "REVOPS_BI_DB_PORT": "15432",
        "REVOPS_BI_PASSWORD": "s3cret",
    }
    got = bi.bi_database(forwarded)
    assert (got.host, got.port, got.password) == ("127.0.0.1", 15432, "s3cret")


# -- bi/superset_config.py ----------------------------------------------------------------
def load_config(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    for key in ("SUPERSET_SECRET_KEY", "SUPERSET_METADATA_DB_URI", "REVOPS_BI_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(
        "superset_config_under_test", ROOT / "bi" / "superset_config.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("superset_config_under_test", None)
    return module


def test_superset_config_reads_the_secret_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = load_config(
        monkeypatch, {"SUPERSET_SECRET_KEY": "from-env", "REVOPS_BI_HOME": str(tmp_path)}
    )
    assert module.SECRET_KEY == "from-env"
    assert not (tmp_path / "superset_secret_key").exists()
    assert f"sqlite:///{tmp_path / 'superset.db'}" == module.SQLALCHEMY_DATABASE_URI
    assert module.PREVENT_UNSAFE_DB_CONNECTIONS is True


def test_superset_config_generates_a_private_key_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = load_config(monkeypatch, {"REVOPS_BI_HOME": str(tmp_path)}).SECRET_KEY
    key_file = tmp_path / "superset_secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 48
    assert first == load_config(monkeypatch, {"REVOPS_BI_HOME": str(tmp_path)}).SECRET_KEY
    assert "CHANGE_ME" not in first


def test_superset_config_refuses_revops_bi_for_its_metadata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "SUPERSET_SECRET_KEY": "k",
        "SUPERSET_METADATA_DB_URI": "postgresql+psycopg2://revops_bi@127.0.0.1/revops_metrics",
    }
    with pytest.raises(RuntimeError, match="own"):
        load_config(monkeypatch, env)
    uri = "postgresql+psycopg2://superset_meta@127.0.0.1:5432/superset"
    module = load_config(monkeypatch, {**env, "SUPERSET_METADATA_DB_URI": uri})
    assert uri == module.SQLALCHEMY_DATABASE_URI


def test_constraints_pin_everything_requirements_name() -> None:
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "bi" / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    names = [
        line.split("<")[0].split("=")[0].strip().lower()
        for line in (ROOT / "bi" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert names and all(name in pins or name == "apache-superset" for name in names), names
    assert "flask-caching" in pins and "psycopg2-binary" in pins
