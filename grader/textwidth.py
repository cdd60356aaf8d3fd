"""Text as a terminal shows it: Hangul, CJK and full-width characters take two columns,
combining marks none. Wrapping and padding count these columns, not characters, so a
Korean message wraps at the terminal's edge and a table's columns line up."""

from __future__ import annotations

import re
import unicodedata

_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # colours (click.style) take no columns


def char_width(c: str) -> int:
    if unicodedata.combining(c) or c in "\u200b\u200c\u200d\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def width(text: str) -> int:
    """The columns `text` takes on a terminal (colour codes take none)."""
    if "\x1b" in text:
        text = _STYLE.sub("", text)
    if text.isascii():
        return len(text)
    return sum(char_width(c) for c in text)


def ljust(text: str, columns: int) -> str:
    """`text` padded with spaces to `columns` display columns."""
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    return " " * max(0, columns - width(text)) + text


def wrap(text: str, columns: int, *, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """`text` (one paragraph) broken at spaces into lines of at most `columns` display
    columns, indents included; a word longer than a line is cut where the line ends.
    Runs of spaces become one, as with textwrap."""
    if not text.split():
        return []
    lines, line, indent = [], initial_indent, initial_indent
    for word in text.split():
        gap = "" if line == indent else " "
        if width(line) + len(gap) + width(word) <= columns:
            line += gap + word
            continue
        if line != indent:
            lines.append(line)
            line = indent = subsequent_indent
        while width(line) + width(word) > columns and columns - width(line) > 0:
            head = _cut(word, columns - width(line))
            if not head:
                break
            lines.append(line + head)
            word = word[len(head):]
            line = indent = subsequent_indent
        line += word
    if line != indent:
        lines.append(line)
    return lines


def _cut(word: str, columns: int) -> str:
    """The longest start of `word` that fits `columns`."""
    used = 0
    for i, c in enumerate(word):
        used += char_width(c)
        if used > columns:
            return word[:i]
    return word
