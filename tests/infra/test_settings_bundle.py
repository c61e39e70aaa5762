"""Stack settings (defaults, validation) and the reproducible code bundle."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from infra.bundle import build_bundle, bundle_members
from infra.settings import Settings, SettingsError, load_settings


def _load(**raw: str) -> Settings:
    return load_settings(raw.get, stack="dev", region="eu-west-1")


def test_defaults_with_only_a_region() -> None:
    settings = _load()
    assert settings == Settings(stack="dev", region="eu-west-1")
    assert settings.name == "revops-dev"
    assert settings.instance_type == "t3.small"
    assert settings.architecture == "x86_64"
    assert settings.allowed_cidrs == ()
    assert settings.associate_public_ip is False
    assert settings.create_vpc_endpoints is True
    assert settings.github_enabled is False
    assert settings.business_timezone == "UTC"


def test_region_is_required() -> None:
    with pytest.raises(SettingsError, match="aws:region"):
        load_settings({}.get, stack="dev", region="")


def test_lists_json_or_commas() -> None:
    assert _load(allowed_cidrs='["10.0.0.0/16", "192.168.1.0/24"]').allowed_cidrs == (
        "10.0.0.0/16",
        "192.168.1.0/24",
    )
    assert _load(allowed_cidrs="10.0.0.0/16, 2001:db8::/48").allowed_cidrs == (
        "10.0.0.0/16",
        "2001:db8::/48",
    )


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_the_whole_internet_is_refused(cidr: str) -> None:
    with pytest.raises(SettingsError, match="whole internet"):
        _load(allowed_cidrs=cidr)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("allowed_cidrs", "10.0.0.1/16", "not a network"),
        ("allowed_security_group_ids", "default", "security group id"),
        ("postgres_major", "14", "not in"),
        ("business_timezone", "Mars/Base", "unknown time zone"),
        ("run_time", "25:00", "HH:MM"),
        ("github_repository", "no-slash", "owner/name"),
        ("github_branch", "release/*", "plain branch"),
        ("instance_type", "big", "instance type"),
        ("associate_public_ip", "maybe", "true or false"),
        ("secret_recovery_window_days", "3", "0 or 7..30"),
        ("metrics_db", "Metrics-DB", "identifier"),
    ],
)
def test_invalid_values_name_the_key(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        _load(**{key: value})
    assert key in str(info.value)


def test_graviton_types_are_arm64() -> None:
    assert _load(instance_type="t4g.small").architecture == "arm64"
    assert _load(instance_type="m7gd.large").architecture == "arm64"
    assert _load(instance_type="m7i.large").architecture == "x86_64"


def _tree(root: Path) -> Path:
    (root / "runner" / "revops" / "__pycache__").mkdir(parents=True)
    (root / "runner" / "revops" / "__init__.py").write_text("x = 1\n")
    (root / "runner" / "revops" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "runner" / "revops_metrics.egg-info").mkdir()
    (root / "runner" / "revops_metrics.egg-info" / "PKG-INFO").write_text("x")
    (root / "db" / "cluster").mkdir(parents=True)
    (root / "db" / "cluster" / "roles.sql").write_text("SELECT 1;\n")
    (root / "infra" / "host").mkdir(parents=True)
    script = root / "infra" / "host" / "revops-host-setup.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    (root / "infra" / "secret.py").write_text("not shipped")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / ".revops").mkdir()
    (root / ".revops" / "secrets.json").write_text("{}")
    return root


def test_bundle_contents(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    names = [name for name, _ in bundle_members(root)]
    assert names == [
        "README.md",
        "db/cluster/roles.sql",
        "infra/host/revops-host-setup.sh",
        "pyproject.toml",
        "runner/revops/__init__.py",
    ]
    (root / "dist" / "wheelhouse").mkdir(parents=True)
    (root / "dist" / "wheelhouse" / "psycopg-3.2-py3-none-any.whl").write_bytes(b"PK")
    built = build_bundle(tmp_path / "out", root)
    assert built.has_wheels
    assert "wheels/psycopg-3.2-py3-none-any.whl" in built.files
    with tarfile.open(built.path) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["infra/host/revops-host-setup.sh"].mode == 0o755
    assert members["db/cluster/roles.sql"].mode == 0o644
    assert {m.mtime for m in members.values()} == {0}


def test_bundle_is_reproducible(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    first = build_bundle(tmp_path / "a", root)
    second = build_bundle(tmp_path / "b", root)
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.key == f"bundles/revops-{first.sha256}.tar.gz"
    (root / "db" / "cluster" / "roles.sql").write_text("SELECT 2;\n")
    assert build_bundle(tmp_path / "c", root).sha256 != first.sha256


def test_real_repository_bundle_has_what_the_host_runs(tmp_path: Path) -> None:
    built = build_bundle(tmp_path)
    for needed in (
        "pyproject.toml",
        "infra/host/revops-host-setup.sh",
        "infra/host/revops-ssm-run.sh",
        "runner/systemd/revops-metrics.service",
        "runner/systemd/revops-metrics.timer",
        "runner/systemd/revops-backfill@.service",
        "runner/systemd/revops-metrics@.service",
        "runner/revops/aws.py",
        "db/cluster/roles.sql",
    ):
        assert needed in built.files, needed
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in built.files)


def test_bundle_holds_only_runtime_files(tmp_path: Path) -> None:
    """Docs, the real README, tests and build-time scripts never replace the host."""
    root = _tree(tmp_path / "repo")
    (root / "README.md").write_text("# the real README\n")
    first = build_bundle(tmp_path / "a", root)
    (root / "README.md").write_text("# the real README, edited\n")
    (root / "docs").mkdir()
    (root / "docs" / "DEPLOY.md").write_text("how to deploy\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test(): pass\n")
    (root / "infra" / "host" / "build-wheelhouse.sh").write_text("#!/bin/sh\n")
    second = build_bundle(tmp_path / "b", root)
    assert second.sha256 == first.sha256
    assert not any(n.startswith(("docs/", "tests/")) for n in second.files)
    with tarfile.open(second.path) as tar:
        readme = tar.extractfile("README.md")
        assert readme is not None
        assert b"the real README" not in readme.read()


def test_bundle_is_named_by_its_uncompressed_content(tmp_path: Path) -> None:
    import gzip
    import hashlib

    built = build_bundle(tmp_path, _tree(tmp_path / "repo"))
    assert built.sha256 == hashlib.sha256(gzip.decompress(built.path.read_bytes())).hexdigest()
    assert built.sha256 != hashlib.sha256(built.path.read_bytes()).hexdigest()
