"""Running the API in a process: uvicorn tuned for it, and the KPI worker process beside it.

Used by `facmon api` and by the API benchmark, so both measure and run the same server.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from functools import partial
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI

from api.kpi_cache import KpiCache, Period, kpis_for_period
from maintenance import Store

__all__ = ["ClosableStore", "kpi_worker", "serve"]


class ClosableStore(Store, Protocol):
    """A store the KPI worker opens for a period and closes after it."""

    def close(self) -> None: ...


@contextmanager
def kpi_worker(open_store: Callable[[], ClosableStore]) -> Iterator[KpiCache]:
    """KPIs computed in a process of their own: a cold period is about a second of Python,
    which in this process would stall every request behind the interpreter lock.
    `open_store` is called in the worker (so it must pickle: a class and its arguments, say)."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks
    parent = os.getpid()
    with ProcessPoolExecutor(
        1, mp_context=spawn, initializer=_exit_with_parent, initargs=(parent,)
    ) as worker:
        worker.submit(int).result()  # started now rather than by the first KPI request
        yield KpiCache(partial(_kpis_in_worker, open_store), executor=worker)


def _kpis_in_worker(open_store: Callable[[], ClosableStore], period: Period) -> dict[str, Any]:
    """In the KPI worker: one period's report over a store of its own. Opening it per period
    costs milliseconds against the second the report takes, and keeps no state in the worker."""
    with closing(open_store()) as store:
        return kpis_for_period(store, period)


def _exit_with_parent(parent: int) -> None:
    """In the KPI worker: end when the API process has gone. uvicorn re-raises SIGTERM after
    its graceful shutdown, so the API process can end without shutting the pool down."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def serve(app: FastAPI, host: str, port: int) -> None:
    """uvicorn with the long-lived start-up objects frozen out of the garbage collector: full
    collections over them took 40-55 ms every second or two under load (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)  # requests make short-lived garbage: collect it in bulk
    uvicorn.run(app, host=host, port=port, log_config=None)
