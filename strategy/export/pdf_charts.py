"""The PDF's fallback for a chart with no drawing of its own (a figure without ``plot``): its Vega-Lite spec
drawn as a PNG, each distinct spec once per process (kept in ``_drawn``). Every chart the summaries show today
is drawn as vector shapes instead (strategy/export/pdf_plots.py): Vega took about 0.2 s of CPU per chart
and held the GIL meanwhile, most of a long portfolio's time."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import vl_convert

CHART_SCALE = 2
# PNGs already drawn in this process, by the spec's JSON (which holds the chart's data): a chart shown twice,
# or again in the next export of the same tasks, is drawn once. About 200 KB each.
_DRAWN_LIMIT = 64
_drawn: OrderedDict[str, bytes] = OrderedDict()
_drawn_lock = threading.Lock()


def _draw(spec: str) -> bytes:
    return vl_convert.vegalite_to_png(spec, scale=CHART_SCALE)


class _ChartPictures:
    """The PNGs of one document's charts, each distinct spec drawn once, when the page needs it."""

    def __init__(self):
        self._ordered: dict[str, bytes | None] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def order(self, chart: dict) -> str:
        """Note a chart the document shows; returns the key its PNG is asked for by."""
        spec = json.dumps(chart)
        self._ordered.setdefault(spec, None)
        return spec

    def png(self, spec: str) -> bytes:
        with _drawn_lock:
            found = self._ordered.get(spec) or _drawn.get(spec)
        if found is None:
            found = _draw(spec)
        self._ordered[spec] = found
        with _drawn_lock:
            _drawn[spec] = found
            _drawn.move_to_end(spec)
            while len(_drawn) > _DRAWN_LIMIT:
                _drawn.popitem(last=False)
        return found
