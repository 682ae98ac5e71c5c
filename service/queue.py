"""Fit jobs over Dramatiq with a Redis broker (team deployment): the API enqueues, workers run.

The database stays the source of truth; a message only says "fit X may be runnable". The actor
claims that fit atomically (queued, or running with an expired lease), so a duplicated or
redelivered message is harmless. Every worker also sweeps the database and re-sends a message
for fits nobody is running — queued fits whose message was lost (Redis restarted empty, the API
died between commit and send) and running fits whose worker stopped heart-beating (SIGKILL) — so
no job depends on Redis keeping a message.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import jobs
from service.config import Settings
from service.tables import FitJob, now

log = logging.getLogger("bayescale.queue")
QUEUE = "fits"
ACTOR = "run_fit"


class FitQueue:
    """The broker, the one actor, and the sweeper; the same object in the API and in workers."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        if not settings.redis_url:
            raise ValueError("FitQueue needs BAYESCALE_REDIS_URL")
        self.settings = settings
        self.sessions = sessions
        self.current: str | None = None  # the fit this process is running, if any
        self.broker = RedisBroker(url=settings.redis_url, namespace=settings.redis_namespace)
        self.actor = dramatiq.actor(
            self._run,
            broker=self.broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            max_retries=20,  # only raised errors retry (database down); fit failures are results
            min_backoff=1_000,
            max_backoff=60_000,
            # jobs.run enforces the fit's own time limit; this is the backstop if that hangs
            time_limit=int((settings.fit_time_limit_s + 300) * 1000),
        )

    def enqueue(self, fit_id: str) -> None:
        """Send the wake-up message; if Redis is down the sweeper re-sends it later."""
        try:
            self.actor.send(fit_id)
        except Exception:
            log.warning("could not enqueue fit %s; a worker's sweeper will", fit_id, exc_info=True)
            return
        with self.sessions() as session, session.begin():
            session.execute(update(FitJob).where(FitJob.id == fit_id).values(enqueued_at=now()))

    def check(self) -> str:
        """'ok' when the broker answers (for ``/ready``)."""
        try:
            self.broker.client.ping()
            return "ok"
        except redis.RedisError as exc:
            return f"unreachable: {type(exc).__name__}"

    def _run(self, fit_id: str) -> None:
        me = jobs.worker_name()
        if jobs.claim(self.sessions, me, self.settings.fit_lease_s, fit_id=fit_id) is None:
            return  # finished, deleted, or running on a live worker: nothing to do
        log.info("worker %s runs fit %s", me, fit_id)
        self.current = fit_id
        try:
            jobs.run(
                self.sessions,
                fit_id,
                worker=me,
                heartbeat_s=jobs.heartbeat_interval(self.settings.fit_lease_s),
                time_limit_s=self.settings.fit_time_limit_s,
            )
        finally:
            self.current = None

    def release_current(self) -> None:
        """On a clean shutdown, hand the running fit back at once instead of after the lease."""
        fit_id = self.current
        if fit_id is not None and jobs.release(self.sessions, fit_id, jobs.worker_name()):
            log.info("released fit %s back to the queue", fit_id)
            self.enqueue(fit_id)

    def sweep(self) -> list[str]:
        """Re-send messages for fits nobody runs; returns their ids.

        One atomic UPDATE per fit claims the re-send, so several sweeping workers send once.
        """
        lease = timedelta(seconds=self.settings.fit_lease_s)
        resend = timedelta(seconds=self.settings.fit_resend_s)
        t = now()
        lost = (FitJob.status == "queued") & (
            FitJob.enqueued_at.is_(None) | (FitJob.enqueued_at < t - resend)
        )
        orphaned = (
            (FitJob.status == "running")
            & (FitJob.heartbeat_at < t - lease)
            & (FitJob.enqueued_at.is_(None) | (FitJob.enqueued_at < t - lease))
        )
        # a fit just committed by the API gets a moment to be sent by the API itself
        due = or_(lost & (FitJob.created_at < t - timedelta(seconds=2)), orphaned)
        sent = []
        with self.sessions() as session:
            candidates = session.scalars(select(FitJob.id).where(due).limit(100)).all()
        for fit_id in candidates:
            with self.sessions() as session, session.begin():
                mine = session.scalar(
                    update(FitJob)
                    .where(FitJob.id == fit_id, due)
                    .values(enqueued_at=now())
                    .returning(FitJob.id)
                )
            if mine is not None:
                try:
                    self.actor.send(fit_id)
                except Exception:
                    log.warning("sweeper could not enqueue fit %s", fit_id, exc_info=True)
                    continue
                sent.append(fit_id)
        if sent:
            log.info("re-sent %d fit(s) nobody was running: %s", len(sent), ", ".join(sent))
        return sent


def run_worker(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """A ``bayescale worker`` process: one fit at a time (MCMC is CPU-bound), until SIGTERM.

    Compiled models stay warm in this process across jobs (the modelling core's cache).
    """
    from dramatiq import Worker

    from service.db import make_engine, session_factory

    engine = make_engine(settings.resolved_database_url)
    queue = FitQueue(settings, session_factory(engine))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    queue.broker.emit_after("process_boot")
    worker = Worker(queue.broker, worker_threads=1, worker_timeout=1000)
    # take one message at a time: a prefetched fit would wait behind this one while others idle
    worker.queue_prefetch = 1
    worker.start()
    log.info("worker %s consuming queue '%s'", jobs.worker_name(), QUEUE)
    try:
        while not stop.wait(jobs.heartbeat_interval(settings.fit_lease_s)):
            try:
                queue.sweep()
            except Exception:  # database or broker blip: the next sweep retries
                log.warning("sweep failed", exc_info=True)
    finally:
        queue.release_current()
        worker.stop(timeout=1000)
        queue.broker.close()
        engine.dispose()


def queue_for(settings: Settings, sessions: sessionmaker[Session]) -> Any:
    """The API's queue in Dramatiq mode, None in embedded mode."""
    return FitQueue(settings, sessions) if settings.redis_url else None
