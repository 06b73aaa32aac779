"""Showing names that came from files: class names, run names, paths.

A class name is whatever a folder or a model file says it is, so it may hold a newline and ANSI
escape codes that forge a line of ``workbench predict`` output, recolour the terminal or move the
cursor; in the window, a newline splits a label in two. :func:`printable` is the one place that
makes such text safe to print or show: control characters become visible escapes (``\\n``,
``\\x1b``, ``\\u202e``) and everything else (accents, CJK, emoji) is kept as it is.

Kept dependency-free: ``workbench runs`` imports it without torch.
"""

from __future__ import annotations

import unicodedata

# Besides the C0/C1 controls (category Cc): characters that reorder or break lines on screen.
# Bidirectional overrides and isolates can make "cat.exe" read as "exe.tac"; U+2028/U+2029 are
# line breaks to many terminals and to Qt. Other format characters (zero-width joiners inside
# emoji and Indic or Persian words) are real text and stay.
_EXTRA = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                   "\u2028\u2029")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object) -> str:
    """``text`` (made a str) with every control character written as a visible escape."""
    text = str(text)
    if text.isprintable():  # the common case, and fast: nothing to escape
        return text
    return "".join(_escape(ch) for ch in text)


def printable_lines(text: object) -> str:
    """Like :func:`printable` but keeps real line breaks: for multi-line messages we wrote
    ourselves around names that came from files (those names' own newlines were escaped
    where they were inserted, or are escaped here if not)."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    if unicodedata.category(ch) == "Cc" or ch in _EXTRA:
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
