"""Message catalogues in gettext's .po format: read, write, check and compile, stdlib only.

A .po file is the catalogue translators edit and git diffs; the standard library's
`gettext.GNUTranslations` reads only the compiled .mo form. `compile_mo` builds that form
in memory when a catalogue is loaded (a few milliseconds for this course's catalogues), so
no binary file is kept in the repository, none can drift from its .po, and no build step
(GNU msgfmt) is needed where the grader is installed or released.

`check` is what `msgfmt --check` checks for this project's messages, in Python, so that CI
runs it where GNU gettext is not installed: each translation uses exactly the `{name}`
placeholders (python-brace-format) of its msgid, with the same conversion and format
spec; braces are balanced; a leading or trailing newline is kept; plural entries have
the header's number of forms. It also reports what msgfmt leaves to translators: an
entry without a translation, or marked fuzzy.
"""

from __future__ import annotations

import ast
import re
import string
import struct
from dataclasses import dataclass, field

BRACE_FLAG = "python-brace-format"


@dataclass
class Entry:
    msgid: str
    msgstr: str = ""
    msgid_plural: str | None = None
    msgstr_plural: list[str] = field(default_factory=list)
    msgctxt: str | None = None
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)   # "# ..." and "#. ..." lines, kept as they are
    line: int = 0                                       # where the entry starts in its file

    @property
    def key(self) -> tuple[str | None, str]:
        return self.msgctxt, self.msgid

    @property
    def translations(self) -> list[str]:
        return self.msgstr_plural if self.msgid_plural is not None else [self.msgstr]

    @property
    def translated(self) -> bool:
        return all(self.translations) and bool(self.translations) and "fuzzy" not in self.flags


class PoError(ValueError):
    """A .po file that does not parse; the message names the file and line."""


# ------------------------------------------------------------------ reading

_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def parse(text: str, name: str = "catalogue") -> list[Entry]:
    """The entries of a .po file, the header (msgid "") first if there is one. Obsolete
    entries (#~) are left out."""
    entries: list[Entry] = []
    entry, last = None, None  # the entry being read, and the field that continues on "..." lines
    pending = Entry("")       # comments seen before the next msgid

    def finish():
        nonlocal entry
        if entry is not None:
            entries.append(entry)
        entry = None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                last = None
            continue
        if line.startswith("#"):
            if entry is not None and last is not None:
                finish()
            if line.startswith("#,"):
                pending.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#:"):
                pending.references += line[2:].split()
            else:
                pending.comments.append(raw)
            continue
        if line.startswith('"'):
            if last is None:
                raise PoError(f"{name}, line {number}: a string continues nothing")
            _append(entry, last, _string(line, name, number))
            continue
        match = _KEYWORD.match(line)
        if not match:
            raise PoError(f"{name}, line {number}: cannot read {line[:60]!r}")
        keyword, index, value = match.group(1), match.group(2), _string(match.group(3), name, number)
        if keyword == "msgctxt" or keyword == "msgid" and not (entry is not None and entry.msgid is None):
            finish()
            entry = Entry(msgid=None, flags=pending.flags, references=pending.references,  # type: ignore[arg-type]
                          comments=pending.comments, line=number)
            pending = Entry("")
        if entry is None:
            raise PoError(f"{name}, line {number}: {keyword} before msgid")
        last = keyword if index is None else f"msgstr[{index}]"
        _append(entry, last, value, start=True)
    finish()
    for e in entries:
        if e.msgid is None:
            raise PoError(f"{name}, line {e.line}: an entry without msgid")
    return entries


def _string(token: str, name: str, number: int) -> str:
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        raise PoError(f"{name}, line {number}: not a valid string {token[:60]!r}") from None
    if not isinstance(value, str):
        raise PoError(f"{name}, line {number}: not a string")
    return value


def _append(entry: Entry, keyword: str, value: str, *, start: bool = False) -> None:
    if keyword.startswith("msgstr["):
        index = int(keyword[7:-1])
        while len(entry.msgstr_plural) <= index:
            entry.msgstr_plural.append("")
        entry.msgstr_plural[index] = value if start else entry.msgstr_plural[index] + value
        return
    attr = keyword
    setattr(entry, attr, value if start or getattr(entry, attr) is None else getattr(entry, attr) + value)


def header(entries: list[Entry]) -> dict[str, str]:
    """The header entry's fields ("Plural-Forms": "nplurals=1; plural=0;", ...)."""
    for e in entries:
        if e.msgid == "" and e.msgctxt is None:
            return dict(line.split(":", 1) for line in e.msgstr.splitlines() if ":" in line)
    return {}


def nplurals(entries: list[Entry]) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", header(entries).get("Plural-Forms", ""))
    return int(match.group(1)) if match else 2


# ------------------------------------------------------------------ writing

def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _field(keyword: str, text: str) -> list[str]:
    if "\n" not in text[:-1] and len(text) < 70:
        return [f"{keyword} {_quote(text)}"]
    pieces = re.findall(r".*?\n|.+$", text) or [""]
    return [f'{keyword} ""'] + [_quote(p) for p in pieces]


def write(entries: list[Entry]) -> str:
    """A .po file's text: entries in the order given, long strings split at newlines."""
    blocks = []
    for e in entries:
        lines = list(e.comments)
        if e.references:
            lines.append("#: " + " ".join(e.references))
        if e.flags:
            lines.append("#, " + ", ".join(sorted(e.flags)))
        if e.msgctxt is not None:
            lines += _field("msgctxt", e.msgctxt)
        lines += _field("msgid", e.msgid)
        if e.msgid_plural is not None:
            lines += _field("msgid_plural", e.msgid_plural)
            for i, text in enumerate(e.msgstr_plural or [""]):
                lines += _field(f"msgstr[{i}]", text)
        else:
            lines += _field("msgstr", e.msgstr)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# ------------------------------------------------------------------ compiling

def compile_mo(entries: list[Entry]) -> bytes:
    """The .mo file msgfmt would write for these entries (translated, non-fuzzy ones and the
    header), readable by `gettext.GNUTranslations`."""
    pairs = {}
    for e in entries:
        if e.msgid and not e.translated:
            continue
        key = e.msgid if e.msgid_plural is None else e.msgid + "\0" + e.msgid_plural
        if e.msgctxt is not None:
            key = e.msgctxt + "\x04" + key
        pairs[key.encode()] = "\0".join(e.translations).encode()
    keys = sorted(pairs)
    ids, strs, offsets = b"", b"", []
    for k in keys:
        offsets.append((len(k), len(ids), len(pairs[k]), len(strs)))
        ids += k + b"\0"
        strs += pairs[k] + b"\0"
    start = 7 * 4 + 16 * len(keys)
    table_ids = b"".join(struct.pack("<II", n, start + at) for n, at, _, _ in offsets)
    table_strs = b"".join(struct.pack("<II", n, start + len(ids) + at) for _, _, n, at in offsets)
    head = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    return head + table_ids + table_strs + ids + strs


# ------------------------------------------------------------------ checking

def placeholders(text: str) -> list[tuple[str, str, str]]:
    """The `{name!conv:spec}` fields of a python-brace-format string, sorted; ValueError
    for unbalanced braces."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields.append((name, conversion or "", spec or ""))
    return sorted(set(fields))


def check(entries: list[Entry], name: str = "catalogue", *, complete: bool = True) -> list[str]:
    """What is wrong with a catalogue, one line per problem naming the file and line:
    placeholders that differ from the msgid's, unbalanced braces, a dropped leading or
    trailing newline, a wrong number of plural forms; with `complete`, entries without a
    translation or marked fuzzy."""
    problems, forms = [], nplurals(entries)
    for e in entries:
        if e.msgid == "":
            continue
        where = f"{name}, line {e.line} ({e.msgid[:50]!r})"
        if complete and not e.translated:
            problems.append(f"{where}: no translation" + (" (marked fuzzy)" if "fuzzy" in e.flags else ""))
        if e.msgid_plural is not None and len(e.msgstr_plural) != forms:
            problems.append(f"{where}: {len(e.msgstr_plural)} plural forms; the header says {forms}")
        source = e.msgid_plural if e.msgid_plural is not None else e.msgid
        brace = BRACE_FLAG in e.flags or has_fields(e.msgid)
        for text in e.translations:
            if not text:
                continue
            problems += _compare(source, text, where, brace=brace)
            if source.startswith("\n") != text.startswith("\n") or source.endswith("\n") != text.endswith("\n"):
                problems.append(f"{where}: the translation must begin and end with a newline as the msgid does")
    return problems


def has_fields(text: str) -> bool:
    """Whether `text` has `{name}` fields (or braces that do not parse as a format string)."""
    try:
        return bool(placeholders(text))
    except ValueError:
        return True


def _compare(source: str, text: str, where: str, *, brace: bool) -> list[str]:
    if not brace:
        return []
    try:
        wanted = placeholders(source)
    except ValueError as exc:
        return [f"{where}: the msgid is not a valid format string ({exc})"]
    try:
        found = placeholders(text)
    except ValueError as exc:
        return [f"{where}: the translation is not a valid format string ({exc})"]
    out = []
    for f in sorted(set(wanted) - set(found)):
        out.append(f"{where}: the translation lacks the placeholder {_show(f)}")
    for f in sorted(set(found) - set(wanted)):
        out.append(f"{where}: the translation has the placeholder {_show(f)}, which the msgid has not")
    return out


def _show(f: tuple[str, str, str]) -> str:
    name, conversion, spec = f
    return "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
