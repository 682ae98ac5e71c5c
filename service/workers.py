"""In-process fit workers for the embedded mode: child processes polling the database.

Each worker is a separate process (MCMC is CPU-bound and must not share the API's interpreter),
keeps its compiled models warm across jobs, and exits when the API shuts down.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
from multiprocessing.process import BaseProcess

from service.db import make_engine, session_factory
from service.jobs import work

log = logging.getLogger("bayescale.workers")


def worker_main(database_url: str, lease_s: float, time_limit_s: float) -> None:
    """Entry point of one worker process."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bayescale").setLevel(logging.INFO)
    engine = make_engine(database_url)
    work(session_factory(engine), lease_s=lease_s, time_limit_s=time_limit_s)


class WorkerPool:
    """``n`` worker processes started with the API and stopped with it."""

    def __init__(self, n: int, database_url: str, lease_s: float, time_limit_s: float) -> None:
        self.n, self.database_url = n, database_url
        self.lease_s, self.time_limit_s = lease_s, time_limit_s
        self.processes: list[BaseProcess] = []

    def start(self) -> None:
        """Spawn the workers (spawn, not fork: the API process holds threads and sockets)."""
        context = mp.get_context("spawn")
        for i in range(self.n):
            process = context.Process(
                target=worker_main,
                args=(self.database_url, self.lease_s, self.time_limit_s),
                name=f"bayescale-worker-{i}",
                daemon=True,
            )
            process.start()
            self.processes.append(process)
        log.info("started %d fit worker(s)", self.n)

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the workers; a fit they were running is picked up again after restart."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout)
        self.processes.clear()
