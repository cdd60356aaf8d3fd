"""Catalogued mistakes: a stable, language-neutral id and the feedback that names it.

    KEEP_PROB = mistake("dropout.keep_prob_swap", "you used p as the keep probability ...")
    fail(KEEP_PROB)                                  # CheckFailed carrying the id
    assert_close(out, expected, mistakes={KEEP_PROB: x * p})

The report's test carries the id in its `mistake` key; `grade mutants` checks that each
mutant triggers the id it declares. A message may hold `{name}` placeholders, filled by
`fail(m, name=value)`. The message is also its msgid: it is shown in the student's language
(grader/i18n.py; `python -m grader.messages update` adds it to the exercise's catalogue),
so write it as a plain string literal, never an f-string.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.i18n import _


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


def _fill(msgid: str, values: dict) -> str:
    """`msgid` translated, its placeholders filled from `values` (left as they are where a value
    is missing: a message with a gap beats a test that crashes)."""
    try:
        return _(msgid, **values) if values else _(msgid)
    except (KeyError, IndexError):
        return _(msgid)


def mistake(id: str, text: str, *, more: str = "", **params) -> Mistake:  # noqa: A002 - the catalogue's word
    """A catalogued mistake: a stable id and its message (a msgid). `params` bind some of the
    message's placeholders now; `more` completes the message (a variant of a mistake keeps its
    id: `mistake(m.id, m.text, more=" (...)", name="running_mean")`)."""
    if not id or " " in id:
        raise ValueError(f"a mistake id is a dotted name without spaces, e.g. 'dropout.keep_prob_swap'; got {id!r}")
    return Mistake(id, text, tuple(sorted(params.items())), more)
