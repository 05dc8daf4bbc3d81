"""The export formats: each one a Renderer, registered by its own module when strategy.export is imported.

Everything that offers a format reads it here: ``render()``, the Export page's download buttons, the CLI's
``--format`` choices. ``FORMATS`` (the names, in registration order) and ``MEDIA_TYPES`` (name → media type)
are read from the registry each time they are asked for, so a format registered later is in them too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from strategy.models import utc_now
from strategy.summary import SummaryBundle

_NAME = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Renderer:
    """One export format.

    ``render(bundle, **options)`` returns the file's bytes; its only option is ``paper`` (one of PAPER_SIZES),
    given when ``takes_paper``. ``binary`` bytes are not UTF-8 text: the CLI writes them as they are instead of
    printing them as text. ``description`` is what the CLI's ``--format`` help says about it in brackets."""

    name: str  # what --format takes and render() is asked for: "md"
    label: str  # the Export page's download button: "Markdown" (with the paper size after it when takes_paper)
    media_type: str  # "text/markdown"
    extension: str  # of the file name, without the dot: "md"
    render: Callable[..., bytes]
    takes_paper: bool = False
    binary: bool = False
    description: str = ""
    position: int = 100  # where it stands among the formats (buttons, choices): lower first, ties as registered

    def __post_init__(self):
        for field, value in (("name", self.name), ("extension", self.extension)):
            if not _NAME.fullmatch(value):
                raise ValueError(f"an export format's {field} is lower-case letters and digits, not {value!r}")


_registered: dict[str, Renderer] = {}


def register(renderer: Renderer) -> Renderer:
    """Offer ``renderer`` everywhere formats are listed, after those registered before it. Registering a name
    again replaces that format where it stands (as when its module is imported again)."""
    _registered[renderer.name] = renderer
    return renderer


def unregister(name: str) -> None:
    """Stop offering the format ``name`` (a no-op when it is not registered)."""
    _registered.pop(name, None)


@contextmanager
def registered(renderer: Renderer) -> Iterator[Renderer]:
    """The format registered for the duration of a ``with`` block (for tests), then unregistered again."""
    register(renderer)
    try:
        yield renderer
    finally:
        unregister(renderer.name)


def renderers() -> tuple[Renderer, ...]:
    """Every registered format, by position, then in the order they were registered."""
    return tuple(sorted(_registered.values(), key=lambda chosen: chosen.position))


def renderer(name: str) -> Renderer:
    """The format registered as ``name``; ValueError naming the registered ones for any other."""
    try:
        return _registered[name]
    except (KeyError, TypeError):
        raise ValueError(f"format must be one of {', '.join(chosen.name for chosen in renderers())}") from None


def render(bundle: SummaryBundle, fmt: str, *, paper: str = "A4") -> bytes:
    """The summary in one of FORMATS, as bytes ready to write or download."""
    chosen = renderer(fmt)
    return chosen.render(bundle, paper=paper) if chosen.takes_paper else chosen.render(bundle)


def file_name_for(scope: str, task_name: str, fmt: str, when=None) -> str:
    stem = task_name if scope == "task" else scope
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "summary"
    return f"strategy-{slug}-{pd.Timestamp(when or utc_now()):%Y%m%d}.{renderer(fmt).extension}"


def __getattr__(name: str):
    # FORMATS and MEDIA_TYPES, as they are now.
    if name == "FORMATS":
        return tuple(chosen.name for chosen in renderers())
    if name == "MEDIA_TYPES":
        return {chosen.name: chosen.media_type for chosen in renderers()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
