"""Feedback in the student's language: which language, and each message in it.

The language comes from `--lang`, then the `GRADER_LANG` variable, then `language:` in
course.yml, then English (`resolve`). Messages are written in English in the code and
marked for translation:

    _("{fn} must return {name} as a numpy array", fn=fn, name=name)
    n_("{n} test", "{n} tests", count)          # plural forms
    N_("test mode is the identity")             # marked only; translated later with _()

The translations live next to the code, in gettext .po catalogues: `grader/locale/<lang>.po`
for the grader's own messages and `solutions/<exercise>/<lang>.po` for an exercise's test
names and feedback (the build copies the public tests' part to `exercises/<exercise>/`).
`python -m grader.messages update` adds new messages to them, `... check` is the CI check.

`with language("ko"):` makes `_` translate into Korean for the code it runs (a context
variable: the CLI sets it for a command, grading adds the exercise's catalogue). Mistake
ids, test ids and JSON keys never change with the language; only what a person reads does.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import os
import re
from pathlib import Path

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT = "en"
ENV = "GRADER_LANG"
LOCALE_DIR = Path(__file__).parent / "locale"


def _(msgid: str, /, **params) -> str:
    """`msgid` in the active language, its `{name}` placeholders filled from `params`."""
    text = _active.get().gettext(msgid)
    return text.format(**params) if params else text


def n_(singular: str, plural: str, n: int, /, **params) -> str:
    """The form of a message for the number `n` (which fills `{n}`), in the active language."""
    return _active.get().ngettext(singular, plural, n).format(n=n, **params)


def N_(msgid: str, /) -> str:
    """Marks `msgid` for the catalogue without translating it (it is translated where shown)."""
    return msgid


class Translator:
    """One language's catalogues, searched in order (an exercise's before the grader's)."""

    def __init__(self, lang: str, catalogues: tuple = ()):
        self.lang, self.catalogues = lang, catalogues

    def gettext(self, msgid: str) -> str:
        for catalogue in self.catalogues:
            text = catalogue.gettext(msgid)
            if text != msgid:
                return text
        return msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        for catalogue in self.catalogues:
            text = catalogue.ngettext(singular, plural, n)
            if text not in (singular, plural):
                return text
        return singular if n == 1 else plural


_active: contextvars.ContextVar[Translator] = contextvars.ContextVar("grader_language",
                                                                     default=Translator(DEFAULT))


def current() -> str:
    """The active language ("en", "ko")."""
    return _active.get().lang


@contextlib.contextmanager
def language(lang: str, *, exercise=None):
    """Translate into `lang` inside the block; with `exercise`, its catalogue comes first."""
    catalogues = () if lang == DEFAULT else _grader_catalogues(lang)
    if exercise is not None and lang != DEFAULT:
        own = exercise_catalogue(exercise, lang)
        catalogues = ((load(own),) if own.is_file() else ()) + catalogues
    token = _active.set(Translator(lang, catalogues))
    try:
        yield lang
    finally:
        _active.reset(token)


def exercise_catalogue(exercise, lang: str) -> Path:
    """Where an exercise's translations are: with its solutions where they are present (all
    its tests), else in the student's copy (the public tests' part, written by the build)."""
    folder = exercise.solution_dir if exercise.has_solutions else exercise.student_dir
    return folder / f"{lang}.po"


def _grader_catalogues(lang: str) -> tuple:
    path = LOCALE_DIR / f"{lang}.po"
    return (load(path),) if path.is_file() else ()


def load(path: Path) -> gettext.GNUTranslations:
    """A .po catalogue as the standard library's translations (compiled in memory; cached
    while the file is unchanged)."""
    stat = Path(path).stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load(path: str, _mtime: int, _size: int) -> gettext.GNUTranslations:
    import io

    from grader import po

    text = Path(path).read_text(encoding="utf-8")
    return gettext.GNUTranslations(io.BytesIO(po.compile_mo(po.parse(text, path))))


class UnknownLanguage(ValueError):
    """A language the grader has no messages for."""


def resolve(flag: str | None = None, course_language: str | None = None, *, environ=None) -> str:
    """The language to speak: `--lang`, then GRADER_LANG, then course.yml's `language:`,
    then English. "ko_KR.UTF-8" counts as "ko"; an unknown language is an error."""
    environ = os.environ if environ is None else environ
    for source, value in (("--lang", flag), (ENV, environ.get(ENV)), ("language: in course.yml", course_language)):
        if value and value.strip():
            return normalize(value, source)
    return DEFAULT


def normalize(value: str, source: str = "the language") -> str:
    code = re.split(r"[_.@-]", value.strip().lower(), maxsplit=1)[0]
    if code in LANGUAGES:
        return code
    raise UnknownLanguage(_("{source} is {value}; the grader speaks {known}", source=source, value=repr(value),
                            known=", ".join(f"{k} ({v})" for k, v in LANGUAGES.items())))
