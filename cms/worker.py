"""The background worker (``flask --app wsgi worker``), on the Huey task queue.

The database stays the source of truth: webhook deliveries are rows of an outbox
(``cms.services.events.delivery``). Each worker process runs

- a **dispatcher** thread that, every ``CMS_WORKER_POLL_SECONDS``, emits the
  ``article.published`` of scheduled articles whose time has come (``events.publish_due``),
  leases due deliveries and queues one Huey task per leased delivery;
- a **deriver** thread that runs the derived-data jobs recorded by saves and imports
  (``cms.services.derived.jobs``: offering an article to other articles' suggestion lists, its
  embedding), a leased batch at a time, looking again every ``CMS_WORKER_POLL_SECONDS`` when
  none is due;
- the **Huey consumer**, whose ``CMS_WORKER_THREADS`` threads run those tasks (any worker
  process sharing the queue may take them), and an hourly periodic task that purges events older
  than the retention.

A worker killed mid-delivery loses nothing: its lease expires, and the delivery is leased again
and sent with the same ``webhook-id``; a queued task whose lease was taken over does nothing.
Database errors (a restart) are logged and retried on the next tick; they never stop the worker.

Queue storage: the SQLite file ``instance/<CMS_WORKER_QUEUE>-queue.sqlite3`` by default (needs no
service), Redis when ``CMS_REDIS_URL`` is set (workers on several machines).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from flask import Flask
from huey import RedisHuey, SqliteHuey, crontab

from cms.extensions import db

log = logging.getLogger("cms.worker")


def make_queue(app: Flask):
    name = app.config["CMS_WORKER_QUEUE"]
    url = app.config.get("CMS_REDIS_URL")
    if url:
        return RedisHuey(name, url=url, blocking=True, read_timeout=1, results=False)
    os.makedirs(app.instance_path, exist_ok=True)
    return SqliteHuey(
        name, filename=os.path.join(app.instance_path, f"{name}-queue.sqlite3"), results=False
    )


class Worker:
    def __init__(self, app: Flask, threads: int | None = None):
        self.app = app
        self.threads = threads or app.config["CMS_WORKER_THREADS"]
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.huey = make_queue(app)
        self.stopping = threading.Event()
        self._define_tasks()

    def _define_tasks(self) -> None:
        app, huey, name = self.app, self.huey, self.name

        @huey.task(name="deliver")
        def deliver(delivery_id: int, token: str) -> None:
            from cms.services.events import delivery

            with app.app_context():
                try:
                    delivery.attempt(delivery_id, token, worker=name)
                finally:
                    db.session.remove()

        @huey.periodic_task(crontab(minute="7"), name="purge_events")
        def purge_events() -> None:
            from cms.services.events import feed

            with app.app_context():
                try:
                    removed = feed.purge()
                    db.session.commit()
                    log.info("purged %s events older than the retention", removed)
                finally:
                    db.session.remove()

        self.deliver = deliver

    def tick(self) -> bool:
        """One round: scheduled publications due, then lease and queue due deliveries. True
        when it found as much as it had room for (more may be due: go again at once)."""
        from cms.services.events import delivery, publish_due

        with self.app.app_context():
            try:
                if publish_due(db.session):
                    db.session.commit()  # the commit hook writes their article.published
                else:
                    db.session.rollback()
                room = self.threads * 2 - self.huey.pending_count()
                claimed = delivery.claim(room)
            finally:
                db.session.remove()
        for delivery_id, token in claimed:
            self.deliver(delivery_id, token)
        return room > 0 and len(claimed) == room

    def _dispatch(self) -> None:
        interval = self.app.config["CMS_WORKER_POLL_SECONDS"]
        while not self.stopping.is_set():
            try:
                busy = self.tick()
            except Exception:
                # e.g. the database restarting: log, wait, try again
                log.exception("worker tick failed; retrying")
                self.stopping.wait(min(5.0, interval * 4))
                continue
            self.stopping.wait(0.01 if busy else interval)

    def derive(self) -> int:
        """One batch of derived-data jobs; the number done (0: none was due)."""
        from cms.services.derived import jobs as derived_jobs

        with self.app.app_context():
            try:
                lease = derived_jobs.claim()
                return derived_jobs.run(lease) if lease is not None else 0
            finally:
                db.session.remove()

    def _derive_loop(self) -> None:
        interval = self.app.config["CMS_WORKER_POLL_SECONDS"]
        while not self.stopping.is_set():
            try:
                done = self.derive()
            except Exception:
                log.exception("derived jobs failed; retrying")
                self.stopping.wait(min(5.0, interval * 4))
                continue
            if not done:
                self.stopping.wait(interval)

    def run(self) -> None:
        log.info(
            "worker %s: %s threads, queue %s (%s)",
            self.name,
            self.threads,
            self.app.config["CMS_WORKER_QUEUE"],
            type(self.huey).__name__,
        )
        dispatcher = threading.Thread(target=self._dispatch, name="dispatcher", daemon=True)
        dispatcher.start()
        deriver = threading.Thread(target=self._derive_loop, name="deriver", daemon=True)
        deriver.start()
        consumer = self.huey.create_consumer(
            workers=self.threads,
            worker_type="thread",
            periodic=True,
            initial_delay=0.05,
            backoff=1.15,
            max_delay=0.25,
            check_worker_health=True,
        )
        try:
            consumer.run()
        finally:
            self.stopping.set()
            dispatcher.join(timeout=5)
            deriver.join(timeout=5)
            time.sleep(0)
