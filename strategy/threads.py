"""Bounded threads for numeric work: a busy server is never idle, and BLAS or OpenMP threads that spin
while they wait for a core make small matrix products a hundred times slower (measured: an 80×240 by
240×52 product took 8 ms with two OpenBLAS threads on a loaded 2-core machine, 0.06 ms with one).

``STRATEGY_THREADS`` sets the limit (default 1); work that parallelises does so with processes, from
:func:`worker_pool`.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from threadpoolctl import threadpool_limits

THREADS_ENV = "STRATEGY_THREADS"


def thread_limit() -> int:
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return 1


_inside = threading.local()


def bounded(function):
    """Run ``function`` with BLAS and OpenMP pools limited to :func:`thread_limit` threads. Nested calls
    keep the outer limit: setting it costs a few milliseconds, more than a small fit."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if getattr(_inside, "depth", 0):
            return function(*args, **kwargs)
        _inside.depth = 1
        try:
            with threadpool_limits(limits=thread_limit()):
                return function(*args, **kwargs)
        finally:
            _inside.depth = 0
    return wrapper


def worker_pool(workers: int, *, preload: Iterable[str] = ()) -> ProcessPoolExecutor:
    """Worker processes started by a fork server, never forked from this process.

    This process may be running threads (the app server's, DuckDB's, a pool's); a child forked from it holds
    copies of their locks and half-changed objects, and one such child crashed collecting garbage while
    computing an export's charts. The fork server is a fresh interpreter with no other threads, started once
    per process with ``preload`` imported, so each worker is a cheap fork of it. Where there is no fork
    server (Windows), workers start from scratch.
    """
    modules = tuple(preload)
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Read when the server starts; once it runs, workers import anything missing as they unpickle a job.
        context.set_forkserver_preload(list(modules))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_limit_worker_threads,
                               initargs=(thread_limit(), modules))


def _limit_worker_threads(limit: int, modules: tuple[str, ...]) -> None:
    """Set a worker's thread limit once, for its life, as :func:`bounded` would for each call.

    A worker does not inherit this process's limits (a forked child did), and its BLAS would start a thread
    per core. The limit reaches only the libraries loaded when it is set, so the work's modules are imported
    first; and since each :func:`bounded` call would set it again (milliseconds a task, more than some fits),
    the worker counts as already inside one, as a child forked inside :func:`bounded` did.
    """
    for module in modules:
        importlib.import_module(module)
    os.environ[THREADS_ENV] = str(limit)
    threadpool_limits(limits=limit)
    _inside.depth = 1
    _reuse_freed_arrays()


# glibc's mallopt settings: the size from which a block is mapped on its own, and the free space at the heap's
# top that is handed back to the system.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# glibc's own ceiling for the threshold it learns on 64-bit systems, and four times it for the trim.
_MAPPED_FROM_BYTES, _TRIMMED_FROM_BYTES = 32 << 20, 128 << 20


def _reuse_freed_arrays() -> None:
    """Keep a worker's freed array memory for its next array instead of returning it to the system.

    A fit makes arrays of a few megabytes (25,536 shapes by the outcomes). glibc maps each such block anew,
    page faults and zeroing included, until a freed one teaches it to keep them in the heap; a forked child
    inherited that lesson from its parent, a fresh worker has to learn it, and with its default it spent a
    third of a refit on page faults (1,000 shape fits: 9.1 s against 5.9 s). Elsewhere than glibc, nothing
    changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _TRIMMED_FROM_BYTES)


def mapped_in_order(pool: ProcessPoolExecutor | None, function: Callable, items: Iterable, *,
                    chunksize: int = 1) -> Iterator:
    """``function`` over ``items`` in their order, in ``pool``'s processes (here when there is none).

    The work handed to a pool is pure, so when a worker process dies (killed for memory, say) the items it
    had not returned are computed here instead: an export or a refit is slower, never lost.
    """
    items = list(items)
    if pool is None:
        yield from map(function, items)
        return
    returned = 0
    try:
        for result in pool.map(function, items, chunksize=chunksize):
            returned += 1
            yield result
    except BrokenProcessPool:
        logging.getLogger(__name__).warning(
            "A worker process stopped; computing the remaining %d of %d items in this process.",
            len(items) - returned, len(items))
        yield from map(function, items[returned:])
