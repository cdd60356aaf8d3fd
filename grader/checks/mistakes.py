"""Catalogued mistakes: a stable, language-neutral id and the feedback that names it.

An exercise's mistakes live in `mistakes.yml` next to its tests (`grade build` ships it with
the public tests), one entry per id:

    dropout.keep_prob_swap: >-
      you used p as the keep probability. Here p is the probability of DROPPING a unit ...

and its tests refer to them by id:

    KEEP_PROB = mistake("dropout.keep_prob_swap")
    fail(KEEP_PROB)                                  # CheckFailed carrying the id
    assert_close(out, expected, mistakes={KEEP_PROB: x * p})

(`mistake(id, text)` defines one in the test file instead.) The report's test carries the id
in its `mistake` key, whatever the language of the message; `grade mutants` checks that
each mutant triggers the mistake it declares. A message may hold `{name}` placeholders,
filled by `fail(m, name=value)`. The message is also its msgid: it is shown in the student's
language, from the exercise's catalogue `<lang>.po` (`python -m grader.messages update` adds
every mistakes.yml text and every `mistake(id, text)` literal to it).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import _

CATALOGUE = "mistakes.yml"
_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_catalogue: dict[str, str] = {}  # the running grading's, set by `catalogue_of`
_source = ""


@dataclass(frozen=True)
class Mistake:
    id: str
    text: str
    params: tuple = ()  # (name, value) pairs bound to the text's placeholders
    more: str = ""      # a msgid that completes the message (its placeholders filled the same way)

    def __str__(self) -> str:
        """The message in the student's language (its bound placeholders filled)."""
        return self.format()

    def format(self, **params) -> str:
        """The message in the student's language, its placeholders filled from the bound
        values and `params`."""
        values = {**dict(self.params), **params}
        return _fill(self.text, values) + (_fill(self.more, values) if self.more else "")

    def variant(self, more: str = "", **params) -> "Mistake":
        """The same mistake (its id and text) with more of its placeholders bound from `params`
        and its message completed by `more` (a msgid: mark it with N_ where it is written),
        e.g. `RUNNING_REPLACED.variant(name="running_var")`."""
        return Mistake(self.id, self.text, tuple(sorted({**dict(self.params), **params}.items())),
                       more or self.more)


def _fill(msgid: str, values: dict) -> str:
    """`msgid` translated, its placeholders filled from `values` (left as they are where a value
    is missing: a message with a gap beats a test that crashes)."""
    try:
        return _(msgid, **values) if values else _(msgid)
    except (KeyError, IndexError):
        return _(msgid)


def mistake(id: str, text: str | None = None, *, more: str = "", **params) -> Mistake:  # noqa: A002
    """The catalogued mistake `id` (its text from the exercise's mistakes.yml), or one defined
    here with its `text` (a msgid). `params` bind some of the message's placeholders now; `more`
    completes it (a variant keeps the id: `mistake(m.id, m.text, more=N_(" (...)"), name=...)`)."""
    if not _ID.fullmatch(id or ""):
        raise ValueError(f"a mistake id is a dotted lowercase name, e.g. 'dropout.keep_prob_swap'; got {id!r}")
    if text is None:
        if id not in _catalogue:
            from grader.errors import CourseTestError
            raise CourseTestError(f"mistake {id!r} is not in {_source or CATALOGUE}; add it there with the "
                                  "feedback that names it")
        text = _catalogue[id]
    return Mistake(id, text, tuple(sorted(params.items())), more)


def used_ids(test_source: str) -> set[str]:
    """The ids a test file names as `mistake("<id>")`."""
    return set(re.findall(r"""mistake\(\s*["']([a-z0-9_.]+)["']\s*\)""", test_source))


def load_catalogue(path: Path) -> dict[str, str]:
    """An exercise's mistakes.yml: {id: text}; a broken file is a CourseTestError that says
    where and why."""
    import yaml

    from grader.errors import CourseTestError
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CourseTestError(f"{path} could not be read: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CourseTestError(f"{path} must map each mistake id to its feedback text")
    for key, text in data.items():
        if not isinstance(key, str) or not _ID.fullmatch(key):
            raise CourseTestError(f"{path}: {key!r} is not a mistake id (a dotted lowercase name, e.g. "
                                  "'dropout.keep_prob_swap')")
        if not isinstance(text, str) or not text.strip():
            raise CourseTestError(f"{path}: the feedback of {key} must be a non-empty text")
    return dict(data)


@contextlib.contextmanager
def catalogue_of(folder: Path):
    """Make the mistakes.yml in `folder` (if any) the one `mistake(id)` reads, for the tests
    collected and run inside."""
    global _catalogue, _source
    path = Path(folder) / CATALOGUE
    previous = _catalogue, _source
    _catalogue, _source = (load_catalogue(path) if path.is_file() else {}), str(path)
    try:
        yield _catalogue
    finally:
        _catalogue, _source = previous
