"""The PDF's charts as PNG images: each distinct chart drawn once per process (kept in ``_drawn``), by worker
processes when $STRATEGY_CHART_WORKERS allows them and a document has enough charts to pay for them."""

from __future__ import annotations

import json
import os
import queue
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from concurrent.futures import Future

import vl_convert

from strategy.errors import StrategyError

# Vega draws a chart in about 0.2 s of CPU and holds the GIL meanwhile, so threads gain nothing (measured: two
# threads draw no faster than one, and Python code beside them stalls). Another process does pay: it draws
# while this one computes the next tasks' figures and lays the pages out. Starting one costs a fresh
# interpreter and Vega engine (about 0.7 s), so workers start only once a document has PARALLEL_CHARTS charts
# to draw. They are plain subprocesses rather than multiprocessing's: its spawn and forkserver modes run the
# caller's main script again in the child, which a script without a __main__ guard does not survive, and a
# fork would copy Vega's engine without the thread that runs it.
PARALLEL_CHARTS = 16
CHART_SCALE = 2
# A worker reads specs and writes PNGs, each preceded by its length (4 bytes, big-endian); a failed chart
# comes back empty and is drawn again here, so its error is raised as it would be without workers.
_CHART_WORKER = """
import struct, sys, vl_convert
scale, read, out = float(sys.argv[1]), sys.stdin.buffer.read, sys.stdout.buffer
while header := read(4):
    spec = read(struct.unpack('>I', header)[0]).decode('utf-8')
    try:
        png = vl_convert.vegalite_to_png(spec, scale=scale)
    except Exception:
        png = b''
    out.write(struct.pack('>I', len(png)) + png)
    out.flush()
"""
# PNGs already drawn in this process, by the spec's JSON (which holds the chart's data): a chart shown twice,
# or again in the next export of the same tasks, is drawn once. About 200 KB each.
_DRAWN_LIMIT = 64
_drawn: OrderedDict[str, bytes] = OrderedDict()
_drawn_lock = threading.Lock()


def _remembered(spec: str) -> bytes | None:
    with _drawn_lock:
        if spec in _drawn:
            _drawn.move_to_end(spec)
        return _drawn.get(spec)


def _remember(spec: str, png: bytes) -> None:
    with _drawn_lock:
        _drawn[spec] = png
        _drawn.move_to_end(spec)
        while len(_drawn) > _DRAWN_LIMIT:
            _drawn.popitem(last=False)


def _draw(spec: str) -> bytes:
    return vl_convert.vegalite_to_png(spec, scale=CHART_SCALE)


CHART_WORKERS_ENV = "STRATEGY_CHART_WORKERS"


def _chart_workers() -> int:
    """Worker processes for drawing a large document's charts: none unless $STRATEGY_CHART_WORKERS says so
    (a number, or "auto" for one fewer than the cores). Off by default because a server is never idle:
    measured on the busy 2-core machine, a worker gained nothing for the 18-task portfolio and cost 2 s of CPU;
    on a quieter one a 1,000-task PDF took 623 s with one worker (1,091 s before charts were cached and no
    longer re-validated; not measured with the cache and no worker)."""
    setting = os.environ.get(CHART_WORKERS_ENV, "0").strip().lower()
    if setting == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return cores - 1  # this process keeps a core for the figures and the layout
    if not setting.isdigit():
        raise StrategyError(f"{CHART_WORKERS_ENV} must be a whole number of worker processes or 'auto', "
                            f"not {setting!r}.")
    return int(setting)


def _worker_loop(jobs: queue.Queue) -> None:
    """Feed one worker process the specs it takes from ``jobs`` and settle each one's future with the PNG
    (or None, to be drawn here); ends at a None job or when the worker cannot be started or dies."""
    try:
        worker = subprocess.Popen([sys.executable, "-I", "-c", _CHART_WORKER, str(CHART_SCALE)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        worker = None
    try:
        while (job := jobs.get()) is not None:
            spec, future = job
            png = None
            if worker is not None:
                try:
                    data = spec.encode("utf-8")
                    worker.stdin.write(struct.pack(">I", len(data)) + data)
                    worker.stdin.flush()
                    header = worker.stdout.read(4)
                    if len(header) == 4:
                        png = worker.stdout.read(struct.unpack(">I", header)[0]) or None
                except OSError:
                    png = None
                if png is None:  # the worker failed or died: the rest are drawn here too
                    worker.kill()
                    worker.wait()
                    worker = None
            future.set_result(png)
    finally:
        if worker is not None:
            worker.stdin.close()
            worker.wait()


class _ChartPictures:
    """The PNGs of one document's charts: each distinct spec drawn once, by worker processes once there are
    enough of them to pay for starting one, else here when the page needs it."""

    def __init__(self):
        self._ordered: dict[str, Future | bytes | None] = {}
        self._jobs: queue.Queue | None = None
        self._threads: list[threading.Thread] = []
        self._to_draw = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._jobs is not None:
            if exc[0] is not None:  # nobody waits for the charts still queued
                while True:
                    try:
                        self._jobs.get_nowait()[1].set_result(None)
                    except queue.Empty:
                        break
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()

    def order(self, chart: dict) -> str:
        """Note a chart the document shows; returns the key its PNG is asked for by."""
        spec = json.dumps(chart)
        if spec not in self._ordered:
            self._ordered[spec] = _remembered(spec)
            if self._ordered[spec] is None:
                self._to_draw += 1
                self._delegate(spec)
        return spec

    def _delegate(self, spec: str) -> None:
        if self._jobs is None:
            if self._to_draw < PARALLEL_CHARTS or _chart_workers() < 1:
                return
            self._jobs = queue.Queue()
            self._threads = [threading.Thread(target=_worker_loop, args=(self._jobs,), daemon=True)
                             for _ in range(_chart_workers())]
            for thread in self._threads:
                thread.start()
            waiting = [earlier for earlier, png in self._ordered.items() if png is None]
        else:
            waiting = [spec]
        for earlier in waiting:
            self._ordered[earlier] = Future()
            self._jobs.put((earlier, self._ordered[earlier]))

    def png(self, spec: str) -> bytes:
        found = self._ordered.get(spec)
        if isinstance(found, Future):
            found = found.result()
        if found is None:
            found = _draw(spec)
        self._ordered[spec] = found
        _remember(spec, found)
        return found
