"""How a file's content appears in a message: never as raw control or bidi characters, never at any length."""

from __future__ import annotations

import re

# Control, bidi and invisible characters from a file are shown as escapes, never sent to a terminal as they are.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def inert(text: str) -> str:
    """Text with control, bidi and invisible characters written as escapes (\\x1b, \\u202e)."""
    return _INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                          else f"\\u{ord(m.group()):04x}", text)


def shown(value, width: int = 40) -> str:
    """A value quoted for a message: inert and cut to ``width`` characters."""
    text = str(value)
    return "'" + inert(text[:width] + ("…" if len(text) > width else "")) + "'"
