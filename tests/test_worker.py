"""The worker as it runs: ``flask --app wsgi worker`` subprocesses on the test database,
delivering to real receivers on 127.0.0.1. A worker SIGKILLed mid-delivery loses nothing; two
workers share the load without delivering anything twice; the Redis queue works like the
embedded SQLite one; scheduled articles are announced when their time comes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import WebhookAttempt, WebhookDelivery
from tests.conftest import make_article
from tests.test_webhooks import ALL, create_webhook

ROOT = Path(__file__).resolve().parent.parent


class Workers:
    def __init__(self, app, tmpdir: str, **settings):
        self.env = {
            **os.environ,
            "CMS_ENV": "development",
            "CMS_INSTANCE_PATH": tmpdir,
            "CMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "CMS_SECRET_KEY": app.config["SECRET_KEY"],
            "CMS_WEBHOOK_ALLOW_PRIVATE": "1",
            "CMS_WEBHOOK_TIMEOUT_SECONDS": "2",
            "CMS_WEBHOOK_LEASE_SECONDS": "3",
            "CMS_WEBHOOK_RETRY_SCHEDULE": "1s,1s,1s",
            "CMS_WORKER_POLL_SECONDS": "0.2",
            "CMS_WORKER_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
            "CMS_LOG_LEVEL": "INFO",
            **settings,
        }
        self.tmpdir = tmpdir
        self.processes: list[subprocess.Popen] = []

    def start(self, threads: int = 2) -> subprocess.Popen:
        log = open(Path(self.tmpdir) / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--threads", str(threads)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(Path(self.tmpdir).glob("worker-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(app):
    made = []

    def make(**settings):
        w = Workers(app, tempfile.mkdtemp(prefix="cms-worker-"), **settings)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


@pytest.fixture(autouse=True)
def _allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_WEBHOOK_ALLOW_PRIVATE", True)


def _states() -> list[str]:
    db.session.expire_all()
    return [d.state for d in db.session.scalars(sa.select(WebhookDelivery))]


def test_worker_delivers_and_announces_a_scheduled_article_once(
    client, headers, workers, receivers
):
    receiver = receivers()
    hook = create_webhook(client, headers["admin"], receiver.url, events=ALL)
    group = workers()
    group.start()
    make_article("Published now")
    receiver.wait_for(1, timeout=30)  # the worker is up
    due = datetime.now(UTC) + timedelta(seconds=3)
    due_monotonic = time.monotonic() + 3
    scheduled = make_article("Published later", status="scheduled", published_at=due)
    got = receiver.wait_for(2, timeout=20)
    assert [r["json"]["data"]["article"]["slug"] for r in got] == [
        "published-now",
        "published-later",
    ]
    assert got[1]["json"]["data"]["article"]["id"] == scheduled.id
    assert got[1]["at"] >= due_monotonic - 0.1  # not before its time
    assert got[1]["at"] - due_monotonic < 5, group.logs()  # within seconds
    time.sleep(1.5)
    assert len(receiver.requests) == 2, group.logs()  # exactly once
    assert hook["id"]


def test_worker_killed_mid_delivery_loses_nothing(client, headers, workers, receivers):
    receiver = receivers(hang_seconds=1.5)
    create_webhook(client, headers["admin"], receiver.url, events=ALL)
    group = workers(CMS_WEBHOOK_TIMEOUT_SECONDS="5", CMS_WEBHOOK_LEASE_SECONDS="3")
    first = group.start()
    make_article("Survives a crash")
    receiver.wait_for(1, timeout=20)
    os.kill(first.pid, signal.SIGKILL)  # mid-delivery: the receiver has not answered yet
    first.wait()
    receiver.hang_seconds = 0
    group.start()
    got = receiver.wait_for(2, timeout=30)
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    deadline = time.monotonic() + 10
    while _states() != ["delivered"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _states() == ["delivered"], group.logs()


def test_two_workers_share_the_load_without_double_delivery(client, headers, workers, receivers):
    receiver = receivers(hang_seconds=0.05)
    create_webhook(client, headers["admin"], receiver.url, events=["article.published"])
    group = workers()
    group.start(threads=2)
    group.start(threads=2)
    for n in range(30):
        make_article(f"Story number {n}")
    got = receiver.wait_for(30, timeout=60)
    time.sleep(2)
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30, group.logs()
    assert _states() == ["delivered"] * 30
    workers_used = set(db.session.scalars(sa.select(WebhookAttempt.worker)))
    assert len(workers_used) == 2, workers_used
    assert len(got) == 30


def test_redis_queue(client, headers, workers, receivers):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running")
    receiver = receivers()
    create_webhook(client, headers["admin"], receiver.url, events=ALL)
    group = workers(CMS_REDIS_URL="redis://127.0.0.1:6379/13")
    group.start()
    make_article("Through Redis")
    [got] = receiver.wait_for(1, timeout=20)
    assert got["json"]["data"]["article"]["slug"] == "through-redis"
    group.stop()
    assert "RedisHuey" in group.logs()


def test_worker_survives_the_database_dropping_its_connections(client, headers, workers, receivers):
    """What a database restart does to a running worker: every connection is cut. It logs,
    reconnects and goes on; nothing is lost."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("cuts PostgreSQL connections")
    receiver = receivers()
    create_webhook(client, headers["admin"], receiver.url, events=["article.published"])
    group = workers()
    worker = group.start()
    make_article("Before the restart")
    receiver.wait_for(1, timeout=30)
    with db.engine.connect() as connection:
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    db.session.remove()
    db.engine.dispose()
    time.sleep(1)
    assert worker.poll() is None, group.logs()  # still running
    make_article("After the restart")
    got = receiver.wait_for(2, timeout=30)
    assert [r["json"]["data"]["article"]["slug"] for r in got] == [
        "before-the-restart",
        "after-the-restart",
    ]
    assert worker.poll() is None
