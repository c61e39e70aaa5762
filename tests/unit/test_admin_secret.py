"""The bootstrap admin from a Secrets Manager secret (the RDS-managed master user secret)."""

from __future__ import annotations

from typing import Any

import pytest

from revops import aws, config


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    value: dict[str, Any] = {"username": "revops_admin", "password": "pw"}
    monkeypatch.setattr(aws, "get_secret_json", lambda secret_id, **_kw: value)
    return value


def test_rds_managed_secret_takes_host_and_sslmode_from_the_environment(
    secret: dict[str, Any],
) -> None:
    target = config.admin_target(
        {
            "REVOPS_ADMIN_SECRET_ID": "arn:aws:secretsmanager:us-east-1:1:secret:rds!db-1",
            "REVOPS_DB_HOST": "db.example.rds.amazonaws.com",
            "REVOPS_DB_SSLMODE": "require",
            "PGHOST": "ignored",
        }
    )
    assert target.kind == "secret"
    assert target.params == {
        "host": "db.example.rds.amazonaws.com",
        "port": "5432",
        "user": "revops_admin",
        "password": "pw",
        "sslmode": "require",
    }
    assert "pw" not in target.describe()


def test_a_secret_without_a_host_anywhere_is_refused(secret: dict[str, Any]) -> None:
    with pytest.raises(config.ConfigError, match="REVOPS_DB_HOST"):
        config.admin_target({"REVOPS_ADMIN_SECRET_ID": "x"})
