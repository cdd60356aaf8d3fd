"""What `grader.check(...)` gives back: the score, as a number, that shows itself as a report.

A `CheckResult` is a float (the points earned: what nbgrader, arithmetic and comparisons
see) that displays as:

- HTML in Jupyter, VS Code and Colab (`_repr_html_`): the score, a table of the tests
  (PASS/FAIL/ERROR/TIME, points, the message and the named mistake of each that did not
  pass), the figures of the report, what the code printed, and a line that says which
  tests ran. Every string in it is escaped (`html.escape`): messages quote the student's
  exceptions and values. Test code is never shown;
- text (`repr`, `str`, and IPython's terminal): the same table as `grade` prints;
- in a Jupyter kernel, its `text/plain` is the score alone ("13.5"), because nbgrader
  reads a test cell's `text/plain` as its partial credit (a value that is not a number
  would get full credit). `print(result)` shows the text table there.

Standard library only (the figures module is imported when a report has figures).
"""

from __future__ import annotations

import html
import sys

from grader import i18n
from grader.i18n import _, n_
from grader.report import LABELS

_LABEL = {"passed": (LABELS["passed"], "#1b7f3b"), "failed": (LABELS["failed"], "#b3261e"),
          "error": (LABELS["error"], "#b3261e"), "timeout": (LABELS["timeout"], "#8a5a00")}


class CheckResult(float):
    """The points earned by the tests that ran; displays as their report."""

    def __new__(cls, reply: dict | None = None, *, function: str | None = None, exercise: str = "",
                problem: str = "", points: float | None = None, left_out: list[str] | tuple = (),
                language: str = ""):
        reply = reply or {}
        report = reply.get("report") or {}
        score = report.get("score", 0.0) if not problem else 0.0
        score = float(score) if _number(score) else 0.0
        self = super().__new__(cls, _on_scale(score, report.get("max_score"), points,
                                              bool(reply.get("hidden_ran"))))
        self.points = points  # the scale of the value (an nbgrader cell's points), or None
        self.left_out = tuple(left_out)  # exercise functions the kernel's code could not send: why
        self.report = report
        self.function = function
        self.exercise = report.get("exercise") or exercise
        self.title = str(reply.get("title", ""))
        self.problem = problem  # not graded at all: why (the kernel's code could not be sent, ...)
        self._text = str(reply.get("text", ""))
        self._hidden_ran = bool(reply.get("hidden_ran"))
        self._exercise_points = reply.get("exercise_points")
        self.language = report.get("language") or language or i18n.DEFAULT  # what it says around the report
        return self

    # ------------------------------------------------------------ values

    @property
    def score(self) -> float:
        """The points the tests earned (the value, unless `points` put it on another scale)."""
        value = self.report.get("score", 0.0)
        return float(value) if _number(value) and not self.problem else 0.0

    @property
    def max_score(self) -> float:
        value = self.report.get("max_score", 0.0)
        return float(value) if _number(value) else 0.0

    @property
    def tests(self) -> list[dict]:
        return [t for t in self.report.get("tests", []) if isinstance(t, dict)]

    def _speaking(self):
        """The report's language, for everything this result says around it."""
        return i18n.language(self.language if self.language in i18n.LANGUAGES else i18n.DEFAULT)

    def scope(self) -> str:
        """Which tests ran, honestly: public only, or public and hidden."""
        with self._speaking():
            return self._scope()

    def _scope(self) -> str:
        if self.problem:
            return ""
        hidden = sum(1 for t in self.tests if t.get("hidden") is True)
        public = len(self.tests) - hidden
        if self._hidden_ran:
            return _("{public} public and {hidden} hidden tests ran (hidden tests run where the course's "
                     "solutions are present).", public=public, hidden=hidden)
        missing = (self._exercise_points - self.max_score) if _number(self._exercise_points) else 0
        ran = n_("Public tests only ({n} test).", "Public tests only ({n} tests).", public)
        if self.function is None and missing > 1e-9:
            return ran + " " + _("Hidden tests worth {points} more points run when your work is graded.",
                                 points=f"{missing:g}")
        if self.function is not None:
            return ran + " " + _("Hidden tests of {function}, if it has any, run when your work is graded.",
                                 function=self.function)
        return ran + " " + _("Your instructor's grading may add hidden tests.")

    # ------------------------------------------------------------ text

    def __repr__(self) -> str:
        return self.text()

    __str__ = __repr__

    def text(self) -> str:
        with self._speaking():
            return self._plain()

    def _plain(self) -> str:
        if self.problem:
            head = f"{self.exercise}: {self.function}" if self.function else self.exercise
            return _("{head}: not graded, 0 points", head=head) + f"\n  {self.problem}"
        lines = [self._text.rstrip("\n")] if self._text else [_("Score: {score}", score=f"{float(self):g}")]
        lines += [_("Note:") + f" {why}" for why in self.left_out]
        if self.function:
            lines.append(_("(the tests of {function} only)", function=self.function))
        lines.append(self._scope())
        lines.append(self._cell_line())
        return "\n".join(line for line in lines if line)

    def _repr_pretty_(self, printer, cycle) -> None:
        """IPython's text/plain: the score alone in a Jupyter kernel (nbgrader reads it as
        the cell's partial credit), the table in IPython's terminal."""
        printer.text(float.__repr__(self) if _in_kernel() else self.text())

    # ------------------------------------------------------------ HTML

    def _repr_html_(self) -> str:
        with self._speaking():
            return self._html()

    def _html(self) -> str:
        e = _escape
        head = e(self.exercise) + (f": {e(self.title)}" if self.title else "")
        if self.function:
            head += f" &middot; <code>{e(self.function)}</code>"
        parts = [f'<div class="grader-result" style="{_BOX}">', f'<div style="font-weight:600">{head}</div>']
        if self.problem:
            parts.append(f'<div style="{_SCORE}">{e(_("Not graded: 0 points"))}</div>')
            parts.append(f'<div style="{_PROBLEM}">{e(self.problem)}</div></div>')
            return "".join(parts)
        passed = sum(1 for t in self.tests if t.get("outcome") == "passed")
        parts.append(f'<div style="{_SCORE}">{e(_("Score: {score}", score=f"{self.score:g} / {self.max_score:g}"))}'
                     f'<span style="font-weight:400;font-size:0.8em"> &nbsp;'
                     f'{e(_("({passed} of {tests} tests passed)", passed=passed, tests=len(self.tests)))}</span></div>')
        problem = str(self.report.get("problem") or "")
        if problem:
            parts.append(f'<div style="{_PROBLEM}">{e(problem)}</div>')
        for why in self.left_out:
            parts.append(f'<div style="{_PROBLEM}">{e(why)}</div>')
        for note in self.report.get("notes") or []:
            parts.append(f'<div style="{_NOTE}">{e(_("Note:"))} {e(note)}</div>')
        parts.append(self._table(problem))
        parts.extend(self._figures())
        output = str(self.report.get("output") or "")
        if output.strip():
            parts.append(f'<details style="margin-top:6px"><summary>{e(_("What your code printed"))}</summary>'
                         f'<pre style="{_PRE}">{e(output)}</pre></details>')
        parts.append(f'<div style="{_SCOPE}">{e(self._scope())}'
                     + (f"<br>{e(self._cell_line())}" if self._cell_line() else "") + "</div></div>")
        return "".join(parts)

    def _cell_line(self) -> str:
        if self.points is None:
            return ""
        if self._hidden_ran:
            return _("this cell: {score} of {points} points", score=f"{float(self):g}", points=f"{self.points:g}")
        return _("this cell: {score} of {points} points (the public tests share out its points)",
                 score=f"{float(self):g}", points=f"{self.points:g}")

    def _table(self, problem: str) -> str:
        rows = []
        for t, count in _grouped(self.tests, problem):
            label, colour = _LABEL.get(t.get("outcome"), _LABEL["error"])
            label = _escape(_(label))
            points = f"{_sum(t, count, 'points'):g}/{_sum(t, count, 'max_points'):g}"
            shown = str(t.get("title") or t.get("name", ""))
            if self.function and shown.startswith(f"{self.function}: "):  # said once, in the heading
                shown = shown[len(self.function) + 2:]
            if len(count) > 1:  # the tests of one function that all met the same message, said once
                tests = n_("{n} test", "{n} tests", len(count))
                shown = tests if self.function else f"{t.get('function', '')}: {tests}"
            name = _escape(shown)
            name += f" <i>{_escape(_('(hidden)'))}</i>" if t.get("hidden") is True and len(count) == 1 else ""
            cell = [f"<div>{name}</div>"]
            if t.get("outcome") != "passed" and t.get("message"):
                cell.append(f'<div style="{_MESSAGE}">{_escape(t["message"])}</div>')
            if t.get("mistake"):
                cell.append(f'<div style="{_MISTAKE}">{_escape(_("mistake:"))} <code>{_escape(t["mistake"])}</code></div>')
            rows.append(f'<tr><td style="{_TD}"><span style="{_TAG}background:{colour}">{label}</span></td>'
                        f'<td style="{_TD}text-align:right;white-space:nowrap">{points}</td>'
                        f'<td style="{_TD}text-align:left">{"".join(cell)}</td></tr>')
        if not rows:
            return ""
        return (f'<table style="border-collapse:collapse;margin-top:6px"><thead><tr>'
                f'<th style="{_TD}"></th><th style="{_TD}">{_escape(_("points"))}</th>'
                f'<th style="{_TD}text-align:left">{_escape(_("test"))}</th>'
                f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')

    def _figures(self) -> list[str]:
        listed = [*(self.report.get("figures") or []), *(f for t in self.tests for f in (t.get("figures") or []))]
        figures = [f for f in listed if isinstance(f, dict)]
        if not figures:
            return []
        try:
            from grader.figures import svg  # drawn by the grader from numbers, never by student code
        except ImportError:
            return []
        out = []
        for figure in figures:
            try:
                out.append(f'<div style="margin-top:6px">{svg(figure)}</div>')
            except Exception:  # noqa: BLE001 - a malformed figure is left out, the report stays
                out.append(f'<div style="{_NOTE}">(a figure could not be drawn: '
                           f'{_escape(figure.get("title", ""))})</div>')
        return out


def _on_scale(score: float, max_score, points: float | None, hidden_ran: bool) -> float:
    """The value: the score, or on the scale of `points` (an nbgrader cell's), never above
    it; public tests alone share out the cell's points. Fails closed (0.0)."""
    if points is None:
        return score
    if not hidden_ran:
        score = score / max_score * points if _number(max_score) and max_score > 0 else 0.0
    return round(max(0.0, min(score, float(points))), 6)  # 9.6, not 9.600000000000001


def _grouped(tests: list[dict], problem: str):
    """Rows: a test, or several consecutive tests of one function that did not pass with the
    same message (a function not written yet); the problem's own rows are left out."""
    rows: list[tuple[dict, list[dict]]] = []
    for t in tests:
        if problem and t.get("outcome") != "passed" and t.get("message") == problem:
            continue
        last = rows[-1] if rows else None
        if last and t.get("outcome") != "passed" and last[0].get("outcome") == t.get("outcome") \
                and last[0].get("function") == t.get("function") and last[0].get("message") == t.get("message"):
            last[1].append(t)
            continue
        rows.append((t, [t]))
    return rows


def _sum(test: dict, group: list[dict], key: str) -> float:
    return sum(float(t.get(key, 0)) for t in group if _number(t.get(key, 0)))


def _number(x) -> bool:
    return type(x) in (int, float) and x == x and abs(x) != float("inf")


def _escape(value) -> str:
    return html.escape(str(value), quote=True)


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (ipykernel's shell, Colab's included)."""
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    get = getattr(sys.modules.get("builtins"), "get_ipython", None)
    return bool(zmqshell and get and isinstance(get(), zmqshell.ZMQInteractiveShell))


_BOX = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4;"
        "border:1px solid #ccc;border-radius:6px;padding:8px 12px;max-width:900px;")
_SCORE = "font-size:1.25em;font-weight:700;margin:4px 0;"
_PROBLEM = "white-space:pre-wrap;color:#b3261e;font-weight:600;margin:4px 0;"
_NOTE = "white-space:pre-wrap;color:#555;margin:2px 0;"
_TD = "padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top;"
_TAG = "color:#fff;border-radius:3px;padding:1px 6px;font-weight:700;font-size:0.85em;"
_MESSAGE = "white-space:pre-wrap;color:#333;margin-top:2px;font-family:ui-monospace,monospace;font-size:12px;"
_MISTAKE = "color:#555;font-size:12px;"
_PRE = "white-space:pre-wrap;max-height:20em;overflow:auto;background:#f6f6f6;padding:6px;"
_SCOPE = "color:#555;margin-top:6px;font-style:italic;"
