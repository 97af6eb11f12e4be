"""One ingest worker of the race test, run in its own process (importable for ``spawn``)."""

from __future__ import annotations

from datetime import timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from server.alerts import AlertService
from server.db.engine import make_engine, make_sessionmaker
from tests.alerts.support import T0, signal

SUBJECTS = 8
ROUNDS = 4


def race(url: str, worker: str, barrier: Barrier) -> dict[str, int]:
    """For each subject: wait for the other worker, then emit a shared and an own signal."""
    engine = make_engine(url)
    try:
        service = AlertService(make_sessionmaker(engine))
        for n in range(SUBJECTS):
            for i in range(ROUNDS):
                at = T0 + timedelta(seconds=i)
                shared = signal(subject=f"door:b1-d{n}/main", at=at, evidence=(f"shared-{i}",))
                own = signal(subject=f"door:b1-d{n}/main", at=at, evidence=(f"{worker}-{i}",))
                barrier.wait(timeout=30)
                service.emit([shared, own])
        return service.stats.snapshot()
    finally:
        engine.dispose()


def main(url: str, worker: str, barrier: Barrier, results: Queue[dict[str, int]]) -> None:
    """The child process: race, then report the service's counters."""
    results.put(race(url, worker, barrier))
