"""Bounded threads for numeric work: a busy server is never idle, and BLAS or OpenMP threads that spin
while they wait for a core make small matrix products a hundred times slower (measured: an 80×240 by
240×52 product took 8 ms with two OpenBLAS threads on a loaded 2-core machine, 0.06 ms with one).

``STRATEGY_THREADS`` sets the limit (default 1); work that parallelises does so with processes.
"""

from __future__ import annotations

import functools
import os
import threading

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
