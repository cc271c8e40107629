"""Two deployments on one Redis server: Redis pub/sub ignores the db number, so each deployment's
channels carry its REDIS_PREFIX (by default named after its database) and a shop event of one
is not heard by the other, while every process of one deployment hears it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from shopqr import create_app
from shopqr.services.events import Event, RedisEventBus, get_bus

REDIS_URL = os.environ.get("SHOPQR_REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def settings(database: str, **extra: object) -> dict[str, object]:
    return {"TESTING": True, "SHOPQR_ENV": "development", "SCHEDULER_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": database, **extra}


@pytest.mark.parametrize(("uri", "prefix"), [
    ("sqlite:////srv/cafe/instance/shopqr.sqlite", "shopqr:shopqr:"),
    ("sqlite:///relative/lucky.sqlite", "shopqr:lucky:"),
    ("sqlite://", "shopqr:memory:"),
    ("mysql+pymysql://u:p@db.example/shopqr_lucky?ssl_ca=/ca.pem", "shopqr:shopqr_lucky:"),
])
def test_the_redis_prefix_follows_the_database_name(uri, prefix):
    assert create_app(settings(uri)).config["REDIS_PREFIX"] == prefix


def test_the_redis_prefix_can_be_set(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPQR_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("SCHEDULER_ENABLED", "0")
    monkeypatch.setenv("REDIS_PREFIX", "cafe-b:")
    assert create_app().config["REDIS_PREFIX"] == "cafe-b:"
    assert create_app(settings("sqlite://", REDIS_PREFIX="x:")).config["REDIS_PREFIX"] == "x:"


@pytest.fixture
def redis_apps() -> Iterator[list[Flask]]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:  # pragma: no cover - the test script starts Redis
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    made: list[Flask] = []
    yield made
    for app in made:
        get_bus(app).close()


@pytest.mark.parametrize("databases", [
    ("sqlite:///{tmp}/cafe_a_{run}.sqlite", "sqlite:///{tmp}/cafe_b_{run}.sqlite"),
    ("mysql+pymysql://root@127.0.0.1/cafe_a_{run}", "mysql+pymysql://root@127.0.0.1/cafe_b_{run}"),
], ids=["sqlite", "mariadb-names"])
def test_two_deployments_sharing_one_redis_do_not_hear_each_other(redis_apps, tmp_path,
                                                                   databases):
    """Deployment A has two processes, B one; all three use the same Redis (the same db number
    even). No database is touched: only the names differ. The names carry this run's own token:
    the SQLite and MariaDB passes of scripts/test.sh run at once on the same Redis server, and
    pub/sub channels ignore the db number, so fixed names let one pass hear the other's events."""
    run = uuid.uuid4().hex[:10]
    first, second = (d.format(tmp=tmp_path, run=run) for d in databases)
    a1, a2, b = (create_app(settings(uri, REDIS_URL=REDIS_URL)) for uri in (first, first, second))
    redis_apps.extend([a1, a2, b])
    buses = [get_bus(app) for app in (a1, a2, b)]
    assert all(isinstance(bus, RedisEventBus) for bus in buses)
    paid = Event(7, "order.paid", {"order_id": 1})
    with buses[1].subscribe(7) as heard_by_a2, buses[2].subscribe(7) as heard_by_b:
        buses[0].publish(paid)
        assert heard_by_a2.get(timeout=5) == paid  # the other process of deployment A
        assert heard_by_b.get(timeout=1) is None  # deployment B, same shop id, hears nothing
        buses[2].publish(Event(7, "menu.changed", {}))  # and B still hears itself
        assert heard_by_b.get(timeout=5) == Event(7, "menu.changed", {})
        assert heard_by_a2.get(timeout=1) is None
