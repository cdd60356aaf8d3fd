"""Catalogued mistakes: a stable, language-neutral id and the feedback that names it.

    KEEP_PROB = mistake("dropout.keep_prob_swap", "you used p as the keep probability ...")
    fail(KEEP_PROB)                                  # CheckFailed carrying the id
    assert_close(out, expected, mistakes={KEEP_PROB: x * p})

The report's test carries the id in its `mistake` key; `grade mutants` checks that each
mutant triggers the id it declares. A message may hold `{name}` placeholders, filled by
`fail(m, name=value)`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    id: str
    text: str

    def __str__(self) -> str:
        return self.text

    def format(self, **params) -> str:
        return self.text.format(**params) if params else self.text


def mistake(id: str, text: str) -> Mistake:  # noqa: A002 - the word the catalogue uses
    if not id or " " in id:
        raise ValueError(f"a mistake id is a dotted name without spaces, e.g. 'dropout.keep_prob_swap'; got {id!r}")
    return Mistake(id, text)
