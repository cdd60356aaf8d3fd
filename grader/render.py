"""Reports to text: the terminal table, JSON, the mutants table and a batch's gradebook (CSV or
JSON, its list of skipped entries and its summary). Pure functions of the data they render."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil

from grader import i18n, textwidth
from grader.i18n import _, n_
from grader.report import LABELS, SCHEMA_VERSION, GradeReport

_LABEL = {outcome: (LABELS[outcome], colour) for outcome, colour in
          (("passed", "green"), ("failed", "red"), ("error", "red"), ("timeout", "yellow"))}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """Student text without terminal control characters (no escape sequences reach a terminal)."""
    return _CONTROL.sub("?", text)


def _fmt(x: float) -> str:
    return f"{x:g}"


def table(report: GradeReport, *, title: str = "", color: bool = False, verbosity: int = 0,
          interrupted_of: int | None = None) -> str:
    """The report as a terminal table, in the report's language (see `_table`)."""
    with i18n.language(report.language):
        return _table(report, title=title, color=color, verbosity=verbosity, interrupted_of=interrupted_of)


def _tag(outcome: str, color: bool) -> str:
    """PASS, FAIL, ERROR or TIME (in the active language), padded to the widest of them."""
    import click

    label, colour = _LABEL[outcome]
    text = textwidth.ljust(_(label), max(5, *(textwidth.width(_(lb)) for lb, _c in _LABEL.values())))
    return click.style(text, fg=colour, bold=True) if color else text


def _table(report: GradeReport, *, title: str, color: bool, verbosity: int, interrupted_of: int | None) -> str:
    """One line per test, the message under it when it did not pass, then the total.

    verbosity -1 (-q): only the tests that did not pass and the score line; 1 (-v): also
    the messages of passing tests and everything the code printed. `interrupted_of`: the
    report holds the tests that finished before Ctrl-C, out of this many. When nothing
    could be graded (`report.problem`), that one headline replaces the tests whose message
    is the same: it is said once, not once per test.
    """
    import click

    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 120))
    lines = [] if verbosity < 0 else [f"{report.exercise}" + (f": {title}" if title else "")]
    if report.problem:
        headline = _wrap(report.problem, width, "  ", "      ")
        lines.extend(click.style(ln, fg="red", bold=True) if color else ln for ln in headline)
    lead = _("Note:") + " "
    for note in report.notes:
        lines.extend(_wrap(note, width, "  " + lead, " " * (2 + textwidth.width(lead))))
    repeated = [t for t in report.tests if report.problem and t.outcome != "passed"
                and t.message == report.problem]
    stubs, said = {} if verbosity > 0 or report.problem else _not_written(report), set()
    for t in report.tests:
        if t in repeated or (verbosity < 0 and t.outcome == "passed"):
            continue
        if t.function in stubs:  # one line for all the tests of a function that meet a stub
            if t.function not in said:
                said.add(t.function)
                lines.append(_stub_line(t.function, *stubs[t.function], color))
            continue
        tag = _tag(t.outcome, color)
        hidden = " " + _("(hidden)") if t.hidden else ""
        lines.append(f"  {tag} {_fmt(t.points):>4}/{_fmt(t.max_points):<4} {t.shown_name}{hidden}")  # one line a test
        indent = " " * (9 + textwidth.width(_tag(t.outcome, False)))  # past the points, whatever the label's width
        if t.outcome != "passed":
            lines.extend(_wrap(t.message, width, indent + "-> ", indent + "   ") if t.message else [])
        elif t.message:  # a passing test's note: what to fix elsewhere, at no cost here
            lead = _("note:") + " "
            lines.extend(_wrap(t.message, width, indent + lead, indent + " " * textwidth.width(lead)))
        lines.extend(_figure_lines(t, width, indent))
    total = _total(report, interrupted_of, repeated)
    if verbosity < 0:
        total = f"{report.exercise}: {total}"
    lines.append(click.style(total, bold=True) if color else total)
    if report.output.strip() and verbosity >= 0:
        shown = _clean(report.output).strip().splitlines()
        lines.append(n_("Your code printed ({n} line):", "Your code printed ({n} lines):", len(shown)))
        keep = len(shown) if verbosity > 0 else 10
        lines.extend("  | " + ln for ln in shown[:keep])
        if len(shown) > keep:
            lines.append("  | " + n_("... {n} more line (-v shows them all)", "... {n} more lines (-v shows them all)",
                                     len(shown) - keep))
    for warning in report.warnings:
        lines.append(_("Warning: {warning}", warning=warning))
    return "\n".join(lines)


def _figure_lines(test, width: int, indent: str) -> list[str]:
    """A test's figures as sparklines (the HTML report draws them: grade EXERCISE --html FILE)."""
    from grader.figures import sparkline

    lines = []
    for fig in test.figures:
        for i, line in enumerate(_clean(sparkline(fig, width=min(40, width - 40))).splitlines()):
            lines.append(indent + ("~ " if i == 0 else "  ") + line)
    return lines


def _not_written(report: GradeReport) -> dict[str, tuple[str, list]]:
    """The functions whose every test stopped at the same stub: function -> (the function
    that is not implemented yet, which may be another one it needs, and those tests)."""
    tests: dict[str, list] = {}
    for t in report.tests:
        tests.setdefault(t.function, []).append(t)
    out = {}
    for fn, ts in tests.items():
        stubs = {t.not_implemented if t.outcome == "error" else "" for t in ts}
        if len(stubs) == 1 and "" not in stubs:
            out[fn] = (stubs.pop(), ts)
    return out


def _stub_line(function: str, stub: str, tests: list, color: bool) -> str:
    """`  ERROR    0/6    xavier_normal: not implemented yet (4 tests; -v lists them)`, or
    `  ERROR    0/3    dropout_backward: needs dropout_forward, not implemented yet (2 tests)`."""
    hidden = sum(t.hidden for t in tests)
    count = (n_("{n} test", "{n} tests", len(tests)) if not hidden else
             n_("{n} test, {hidden} hidden", "{n} tests, {hidden} hidden", len(tests), hidden=hidden))
    points = _fmt(sum(t.max_points for t in tests))
    why = (_("not implemented yet ({count}; -v lists them)", count=count) if stub == function
           else _("needs {stub}, not implemented yet ({count})", stub=stub, count=count))
    return f"  {_tag('error', color)} {'0':>4}/{points:<4} {function}: {why}"


def _total(report: GradeReport, interrupted_of: int | None, repeated: list = ()) -> str:
    passed, tests = sum(t.outcome == "passed" for t in report.tests), len(report.tests)
    score = f"{_fmt(report.score)} / {_fmt(report.max_score)}"
    if interrupted_of is not None:
        return _("Interrupted: {done} of {total} tests finished, {score} points on those",
                 done=tests, total=interrupted_of, score=score)
    if report.selection:
        return _("Score: {score} for the tests selected by -k {selection}  ({passed} of {tests} passed; run "
                 "without -k for the exercise's score)", score=score, selection=shlex.quote(report.selection),
                 passed=passed, tests=tests)
    if repeated and len(repeated) == tests:
        return _("Score: {score}  ({passed} of {tests} tests passed; none could run)",
                 score=score, passed=passed, tests=tests)
    if repeated:
        return _("Score: {score}  ({passed} of {tests} tests passed; {not_run} could not run)",
                 score=score, passed=passed, tests=tests, not_run=len(repeated))
    return _("Score: {score}  ({passed} of {tests} tests passed)", score=score, passed=passed, tests=tests)


def reports_text(reports: list[GradeReport], *, titles: dict[str, str], color: bool = False,
                 verbosity: int = 0) -> str:
    """`grade all`: a table per exercise, one line for each one not started (unless -v)."""
    parts = []
    for report in reports:
        if not_started(report) and verbosity <= 0:
            parts.append(not_started_line(report, color=color))
        else:
            parts.append(table(report, title=titles.get(report.exercise, ""), color=color,
                               verbosity=verbosity) + ("" if verbosity < 0 else "\n"))
    return "\n".join(parts)


def not_started(report: GradeReport) -> bool:
    """Untouched: every test stopped at a function not implemented yet (as for the stub)."""
    with i18n.language(report.language):
        return bool(report.tests) and _not_written(report).keys() == {t.function for t in report.tests}


def not_started_line(report: GradeReport, *, color: bool = False) -> str:
    """One line for an exercise whose working copy is untouched, instead of a table."""
    import click

    with i18n.language(report.language):
        line = _("{exercise}: not started, {score} / {max_score}", exercise=report.exercise,
                 score=_fmt(report.score), max_score=_fmt(report.max_score))
    return click.style(line, dim=True) if color else line


def _wrap(text: str, width: int, lead: str, indent: str) -> list[str]:
    """Student text, cleaned of control characters, wrapped paragraph by paragraph at `width`
    display columns (Hangul takes two): the first line after `lead`, the rest after `indent`."""
    lines = []
    for i, para in enumerate(_clean(text).splitlines() or [""]):
        first = lead if i == 0 else indent
        lines.extend(textwidth.wrap(para, width, initial_indent=first, subsequent_indent=indent) or [first])
    return lines


def report_json(report: GradeReport) -> str:
    return json.dumps(report.to_dict(), indent=2)


def reports_json(reports: list[GradeReport]) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION,
                       "score": float(sum(r.score for r in reports)),
                       "max_score": float(sum(r.max_score for r in reports)),
                       "exercises": [r.to_dict() for r in reports]}, indent=2)


def mutants_text(results: dict, *, verbose: bool = False) -> str:
    """`grade mutants`: per exercise, how many catalogued mistakes were caught and named and
    how many correct variants got full marks, then a line per mutant (with the messages it
    got, if unnamed or `verbose`) and per variant that lost points."""
    lines = []
    for ex_id, (verdicts, variants) in results.items():
        caught, named = sum(v.caught for v in verdicts), sum(v.named for v in verdicts)
        full = sum(r.score == r.max_score for _, r in variants)
        lines.append(f"{ex_id}: mutants caught {caught}/{len(verdicts)}, named {named}/{len(verdicts)}; "
                     f"correct variants with full marks {full}/{len(variants)}")
        for v in verdicts:
            mark = "ok  " if v.caught and v.named else ("UNNAMED" if v.caught else "SURVIVED")
            lines.append(f"  {mark:<8} {v.mutant.name}: {v.mutant.description}")
            if verbose or not v.named:
                lines += [f"             {message.splitlines()[0][:150]}" for message in v.messages]
        for name, report in variants:
            if report.score != report.max_score:
                lines.append(f"  VARIANT LOSES POINTS {name}: {report.score:g}/{report.max_score:g}")
                lines += [f"             {t.name}: {t.message.splitlines()[0][:150]}"
                          for t in report.tests if t.outcome != "passed"]
    return "\n".join(lines)


# ------------------------------------------------------- gradebooks of a batch (grade batch, grade merge)

CSV_FIXED = ["student_id", "score", "max_score", "error"]
# OWASP's CSV injection rule: a cell starting with one of these is read as a formula by
# spreadsheets (the full-width forms by some); such a cell gets a leading single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _num(x: float) -> str:
    text = f"{x:g}"
    return text if float(text) == x else repr(float(x))


def spreadsheet_text(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula (OWASP): a leading ' if it starts
    like one. Applied to every text cell of a CSV the batch writes (ids, errors, names)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render_csv(entries: list[dict]) -> str:
    """student_id,score,max_score,error, then one column per test (points earned)."""
    names = next(([t["name"] for t in e["report"]["tests"]] for e in entries if "report" in e), [])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIXED + [spreadsheet_text(name) for name in names])
    for entry in entries:
        student = spreadsheet_text(entry["student_id"])
        if "report" not in entry:
            writer.writerow([student, "0", _num(entry["max_score"]),
                             spreadsheet_text(" ".join(entry["error"].split()))] + [""] * len(names))
            continue
        report = entry["report"]
        cells = [_num(t["points"]) for t in report["tests"]]
        if [t["name"] for t in report["tests"]] != names:  # not expected: one setup, one test list
            by_name = {t["name"]: _num(t["points"]) for t in report["tests"]}
            cells = [by_name.get(name, "") for name in names]
        fixed = [student, _num(report["score"]), _num(report["max_score"]), spreadsheet_text(_why(report))]
        writer.writerow(fixed + cells)
    return buf.getvalue()


def _why(report: dict) -> str:
    """A graded student's `error` cell: empty, or why nothing could be graded (a missing or
    misnamed file, a syntax error, an import that crashed), on one line."""
    return " ".join(str(report.get("problem") or "").split())


def render_json(entries: list[dict]) -> str:
    """A list of JSON reports, each with its student_id and an error ("" when graded)."""
    out = []
    for entry in entries:
        if "report" in entry:
            out.append({"student_id": entry["student_id"], **entry["report"], "error": entry["report"].get("problem") or ""})
        else:
            out.append({"student_id": entry["student_id"], "schema_version": SCHEMA_VERSION,
                        "exercise": entry["exercise"], "score": 0.0, "max_score": entry["max_score"],
                        "tests": [], "output": "", "warnings": [], "error": entry["error"]})
    return json.dumps(out, indent=2) + "\n"


def render_skipped_csv(skipped: tuple) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["entry", "reason"])
    writer.writerows([spreadsheet_text(s.entry), spreadsheet_text(s.reason)] for s in skipped)
    return buf.getvalue()


def render_skipped_json(skipped: tuple) -> str:
    return json.dumps([{"entry": s.entry, "reason": s.reason} for s in skipped], indent=2) + "\n"


SKIPPED_SHOWN = 20  # the summary names this many skipped entries; the file lists them all


def batch_summary_text(s) -> str:
    """What `grade batch` and `grade merge` say when they finish (a grader.batch.BatchSummary),
    in the language spoken."""
    students = n_("{n} student", "{n} students", s.students)
    if s.merged:
        what = n_("Merged {n} shard, {students}", "Merged {n} shards, {students}", s.merged, students=students)
    else:
        where = _("{students} of shard {shard}", students=students, shard=s.shard) if s.shard else students
        what = n_("Graded {students} in {seconds} s with {n} worker", "Graded {students} in {seconds} s with {n} workers",
                  s.jobs, students=where, seconds=f"{s.seconds:.1f}")
    parts = [_("{n} with their work graded", n=s.students - s.failed - s.not_graded)]
    if s.not_graded:
        parts.append(n_("{n} student with nothing that could be graded (the error column says why)",
                        "{n} students with nothing that could be graded (the error column says why)", s.not_graded))
    parts.append(n_("{n} grading failed (the error column says why)", "{n} gradings failed (the error column says why)",
                    s.failed) if s.failed else _("0 gradings failed"))
    parts.append(_("mean score {mean} / {max}", mean=f"{s.mean_score:.2f}", max=f"{s.max_score:g}"))
    text = _("{what}: {parts}.", what=what, parts=", ".join(parts))
    if s.reused:
        text += " " + (n_("{n} result came from an earlier run of this shard.",
                          "{n} results came from an earlier run of this shard.", s.reused) if s.shard else
                       n_("{n} result came from an interrupted earlier run.",
                          "{n} results came from an interrupted earlier run.", s.reused))
    text += " " + (_("Kept them in {path}: merge it with the other shards' folders using 'grade merge'.", path=s.kept)
                   if s.shard else _("Wrote {path}.", path=s.out))
    if s.skipped:
        where = _("listed in {path}", path=s.skipped_file) if s.skipped_file else _("'grade merge' lists them")
        text += "\n" + n_("Skipped {n} entry of the submissions folder, no row ({where}):",
                          "Skipped {n} entries of the submissions folder, no row ({where}):", len(s.skipped),
                          where=where)
        text += "".join(f"\n  {entry.entry!r}: {entry.reason}" for entry in s.skipped[:SKIPPED_SHOWN])
        if len(s.skipped) > SKIPPED_SHOWN:
            text += "\n  " + _("... and {n} more", n=len(s.skipped) - SKIPPED_SHOWN)
    return text + "".join("\n" + _("Warning: {warning}", warning=w) for w in s.warnings)
