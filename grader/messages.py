"""Upkeep of the message catalogues: find every message marked for translation, keep the
.po files in step with the code, and check them (CI runs `check` through tests/test_i18n.py).

    python -m grader.messages update [--course DIR]   add new messages (untranslated), drop gone ones
    python -m grader.messages check [--course DIR]    exit 1 when a message has no translation,
                                                      a placeholder differs, or a catalogue is stale

Two kinds of catalogue, one per language (`<lang>.po`):
- the grader's own, `grader/locale/<lang>.po`: every `_("...")`, `n_("...", "...", n)` and
  `N_("...")` in grader/;
- an exercise's, `solutions/<id>/<lang>.po`: the same calls in its test files, the test
  names (what follows "<function>: " on a test docstring's first line) and the messages
  of `mistake(id, message)`. `grade build` copies the part its public tests use to
  `exercises/<id>/<lang>.po`, so nothing of the hidden tests reaches students.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import po
from grader.checks.mistakes import CATALOGUE as MISTAKES
from grader.i18n import DEFAULT, LANGUAGES, LOCALE_DIR

PACKAGE = Path(__file__).parent
MARKERS = {"_": 1, "tr": 1, "N_": 1, "n_": 2}        # function name -> how many leading string arguments are msgids
# The checks API translates the messages it is given (grader/checks): these arguments are msgids too.
MESSAGE_ARGUMENTS = {"mistake": (1, "more"), "fail": (0, None), "note": (0, None),
                     "expect_value_error": (None, "why"), "assert_close": (None, "hint"),
                     "check_draws_from_rng": (None, "what")}
# The hints of grader.checks.compare's checks, given to assert_close.
MESSAGE_ARGUMENTS.update({"against_reference": (None, "hint"), "check_per_sample": (None, "hint")})


@dataclass
class Found:
    msgid: str
    plural: str | None = None
    where: list[str] = field(default_factory=list)


def extract(files: list[Path], root: Path, *, test_names: bool = False) -> tuple[dict[str, Found], list[str]]:
    """The messages marked in `files` (msgid -> Found), and the marks that cannot be
    translated (an f-string or an expression where a literal belongs), one line each."""
    found: dict[str, Found] = {}
    problems: list[str] = []

    def add(msgid: str, plural: str | None, path: Path, line: int):
        try:
            fields = po.placeholders(msgid) + po.placeholders(plural or "")
        except ValueError as exc:
            problems.append(f"{_relative(path, root)}:{line}: not a valid format string ({exc}): {msgid[:50]!r}")
            return
        if any(conversion for _name, conversion, _spec in fields):
            problems.append(f"{_relative(path, root)}:{line}: a placeholder with a conversion such as !r "
                            f"({msgid[:50]!r}): GNU msgfmt --check does not check those; pass repr(value) "
                            "as a plain {name}")
        entry = found.setdefault(msgid, Found(msgid, plural))
        entry.plural = entry.plural or plural
        entry.where.append(f"{_relative(path, root)}:{line}")

    for path in files:
        if path.suffix == ".yml":  # an exercise's mistakes.yml: every feedback text is a message
            for mistake_id, text in _mistakes(path).items():
                entry = found.setdefault(text, Found(text))
                entry.where.append(f"{_relative(path, root)}:{mistake_id}")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            name = _called(node)
            if name in MARKERS:
                strings = node.args[:MARKERS[name]]
                if len(strings) < MARKERS[name] or not all(_literal(a) for a in strings):
                    if name not in ("_", "tr") or not node.args or not _dynamic(node.args[0]):
                        problems.append(f"{_relative(path, root)}:{node.lineno}: {name}() needs a plain string "
                                        "literal (with {name} placeholders), not an f-string or an expression")
                    continue
                add(strings[0].value, strings[1].value if len(strings) > 1 else None, path, node.lineno)
            elif name in MESSAGE_ARGUMENTS:
                index, keyword = MESSAGE_ARGUMENTS[name]
                args = [node.args[index]] if index is not None and len(node.args) > index else []
                args += [k.value for k in node.keywords if keyword is not None and k.arg == keyword]
                for arg in args:
                    texts = _texts(arg)
                    if texts is None:
                        problems.append(f"{_relative(path, root)}:{node.lineno}: the message of {name}() must be "
                                        "a plain string literal (with {name} placeholders), not an f-string or "
                                        "a concatenation: it is translated")
                    for text in texts or ():
                        add(text, None, path, node.lineno)
            if test_names and isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                what = test_name(ast.get_docstring(node) or "")
                if what:
                    add(what, None, path, node.lineno)
    return found, problems


def _mistakes(path: Path) -> dict:
    from grader.checks.mistakes import load_catalogue

    return load_catalogue(path)


def test_name(doc: str) -> str:
    """The translatable part of a test's name: what follows "<function>: " on the first line."""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return first.partition(":")[2].strip()


def _literal(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _called(node) -> str | None:
    """The name of the function a call calls (`fail`, `checks.fail`), or None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _dynamic(node) -> bool:
    """A message computed at run time from a variable (translated elsewhere: fine), as opposed
    to text built in place (an f-string, a concatenation: cannot be translated)."""
    return not isinstance(node, (ast.JoinedStr, ast.BinOp)) and not _literal(node)


def _texts(node) -> list[str] | None:
    """The msgids a message argument can be: a literal, either branch of `a if c else b`;
    [] for a variable or a call (translated where it was written); None for text built in
    place (an f-string, a concatenation), which cannot be translated."""
    if _literal(node):
        return [node.value]
    if isinstance(node, ast.IfExp):
        branches = [_texts(node.body), _texts(node.orelse)]
        return None if None in branches else branches[0] + branches[1]
    if isinstance(node, (ast.JoinedStr, ast.BinOp)):
        return None
    return []


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ the catalogues

@dataclass(frozen=True)
class Catalogue:
    """One catalogue to keep: its sources and, per language, its .po file."""
    name: str
    sources: tuple[Path, ...]
    folder: Path
    test_names: bool = False

    def path(self, lang: str) -> Path:
        return self.folder / f"{lang}.po"


def catalogues(course=None) -> list[Catalogue]:
    """The grader's catalogue, and one per exercise of `course` that has solutions."""
    own = [p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts]
    out = [Catalogue("grader", tuple(own), LOCALE_DIR)]
    for ex in course.exercises if course is not None else ():
        if ex.has_solutions:
            tests = tuple(sorted(ex.solution_dir.glob("test_*.py")))
            tests += tuple(p for p in [ex.solution_dir / MISTAKES] if p.is_file())
            out.append(Catalogue(ex.id, tests, ex.solution_dir, test_names=True))
    return out


def languages() -> list[str]:
    return [lang for lang in LANGUAGES if lang != DEFAULT]


def _header(lang: str) -> po.Entry:
    plural = "nplurals=1; plural=0;" if lang in ("ko", "ja", "zh") else "nplurals=2; plural=(n != 1);"
    text = (f"Project-Id-Version: dl-grader\nPO-Revision-Date: 2026-12-01 00:00+0000\n"
            f"Last-Translator: dl-grader maintainers\nLanguage-Team: {lang}\nLanguage: {lang}\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
            f"Plural-Forms: {plural}\n")
    return po.Entry("", text, flags=set())


def update(catalogue: Catalogue, lang: str, root: Path) -> tuple[int, int]:
    """Bring `catalogue`'s .po for `lang` in step with its sources: new messages are added
    untranslated, messages no longer in the code are dropped, translations are kept.
    Returns (added, dropped)."""
    found, _ = extract(list(catalogue.sources), root, test_names=catalogue.test_names)
    path = catalogue.path(lang)
    old = po.parse(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []
    known = {e.msgid: e for e in old if e.msgid}
    header = next((e for e in old if e.msgid == ""), _header(lang))
    entries, forms = [header], po.nplurals([header])
    for msgid, item in sorted(found.items(), key=lambda kv: _order(kv[1])):
        entry = known.get(msgid) or po.Entry(msgid, msgid_plural=item.plural,
                                             msgstr_plural=[""] * forms if item.plural else [])
        entry.references = sorted(set(item.where), key=_ref_key)
        if po.has_fields(msgid):
            entry.flags.add(po.BRACE_FLAG)
        entries.append(entry)
    path.write_text(po.write(entries), encoding="utf-8")
    return len(found.keys() - known.keys()), len(known.keys() - found.keys())


def _order(item: Found) -> tuple:
    return _ref_key(min(item.where, key=_ref_key))


def _ref_key(ref: str) -> tuple:
    file, _, line = ref.rpartition(":")
    return file, int(line) if line.isdigit() else 0


def check(course=None, root: Path | None = None) -> list[str]:
    """Every problem of every catalogue in every language, one line each (empty: all good)."""
    problems = []
    for catalogue in catalogues(course):
        base = root or (course.root if course is not None else PACKAGE.parent)
        found, marks = extract(list(catalogue.sources), base, test_names=catalogue.test_names)
        problems += marks
        for lang in languages():
            path = catalogue.path(lang)
            shown = _relative(path, base)
            if not path.is_file():
                problems.append(f"{shown} is missing: run 'python -m grader.messages update'")
                continue
            entries = po.parse(path.read_text(encoding="utf-8"), shown)
            problems += po.check(entries, shown)
            have = {e.msgid for e in entries if e.msgid}
            problems += [f"{shown}: no entry for {m!r} ({found[m].where[0]}): run "
                         "'python -m grader.messages update', then translate it" for m in sorted(found.keys() - have)]
            problems += [f"{shown}: {m!r} is no longer in the code: run 'python -m grader.messages update'"
                         for m in sorted(have - found.keys())]
    return problems


def public_part(exercise, lang: str, shipped: dict[str, bytes]) -> bytes | None:
    """The entries of an exercise's catalogue that what students get uses (`shipped`: the
    files `grade build` writes to exercises/<id>/, its public tests and the mistakes they
    name): what the build writes to exercises/<id>/<lang>.po (None when the exercise has no
    catalogue in `lang`)."""
    import yaml

    from grader.course import PUBLIC_TESTS

    path = exercise.solution_dir / f"{lang}.po"
    if not path.is_file():
        return None
    found, _ = extract([exercise.solution_dir / PUBLIC_TESTS], exercise.solution_dir, test_names=True)
    wanted = set(found) | {str(text) for text in (yaml.safe_load(shipped.get(MISTAKES, b"")) or {}).values()}
    entries = po.parse(path.read_text(encoding="utf-8"), str(path))
    kept = [e for e in entries if e.msgid == "" or e.msgid in wanted]
    for e in kept:
        e.references = []  # where a message is in the hidden tests is no business of students
    return po.write(kept).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from grader.course import load_course

    parser = argparse.ArgumentParser(prog="python -m grader.messages", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["update", "check"])
    parser.add_argument("--course", help="the course folder (default: the nearest with a course.yml)")
    args = parser.parse_args(argv)
    course = load_course(Path(args.course) if args.course else None)
    if args.action == "update":
        for catalogue in catalogues(course):
            for lang in languages():
                added, dropped = update(catalogue, lang, course.root)
                print(f"{_relative(catalogue.path(lang), course.root)}: {added} new, {dropped} dropped")
        return 0
    problems = check(course)
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s)" if problems else "catalogues complete and consistent")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
