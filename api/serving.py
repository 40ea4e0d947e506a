"""Running the API in a process: uvicorn tuned for it, and the KPI worker process beside it.

Used by `facmon api` and by the API benchmark, so both measure and run the same server.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

import uvicorn
from fastapi import FastAPI

from api.kpi_cache import KpiCache
from api.planning import kpis_in_database


@contextmanager
def kpi_worker(database_url: str) -> Iterator[KpiCache]:
    """KPIs computed in a process of their own: a cold period is about a second of Python,
    which in this process would stall every request behind the interpreter lock."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks
    parent = os.getpid()
    with ProcessPoolExecutor(
        1, mp_context=spawn, initializer=_exit_with_parent, initargs=(parent,)
    ) as worker:
        worker.submit(int).result()  # started now rather than by the first KPI request
        yield KpiCache(partial(kpis_in_database, database_url), executor=worker)


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
