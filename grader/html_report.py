"""A grading as one self-contained HTML page: `grade EXERCISE --html FILE`.

A pure function of the reports, like the terminal table: the tests with their points and
messages, and each test's figures drawn as inline SVG by grader.figures from the numbers
the grader computed. The page has no script and loads nothing; every piece of text that
came from a submission (messages quote it, the printed output, notes) is escaped, so it
shows as text, whatever it holds.
"""

from __future__ import annotations

from html import escape

from grader.figures import svg
from grader.report import LABELS, GradeReport
_OUTPUT_CHARS = 20_000

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; line-height: 1.4; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.score { font-weight: bold; }
.test { border-left: 4px solid #ccc; padding: 0.3em 0.8em; margin: 0.6em 0; }
.test.passed { border-color: #2a8a2a; } .test.failed, .test.error { border-color: #c62828; }
.test.timeout { border-color: #d89c00; }
.badge { display: inline-block; min-width: 3.5em; font-weight: bold; font-size: 0.85em; }
.passed .badge { color: #2a8a2a; } .failed .badge, .error .badge { color: #c62828; }
.timeout .badge { color: #a07000; }
.points { display: inline-block; min-width: 4em; color: #555; }
.hidden { color: #777; font-size: 0.85em; }
.message { white-space: pre-wrap; margin: 0.3em 0 0 7.5em; }
.figures { margin: 0.5em 0 0 7.5em; display: flex; flex-wrap: wrap; gap: 0.6em; }
.figures svg { border: 1px solid #ddd; max-width: 100%; height: auto; }
pre.output { background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; max-height: 30em; overflow: auto; }
.note, .warning, .problem { margin: 0.3em 0; } .problem { color: #c62828; font-weight: bold; }
"""


def _fmt(x: float) -> str:
    return f"{x:g}"


def _test(t) -> str:
    hidden = ' <span class="hidden">(hidden)</span>' if t.hidden else ""
    parts = [f'<div class="test {escape(t.outcome)}"><span class="badge">{LABELS.get(t.outcome, "?")}</span>'
             f'<span class="points">{_fmt(t.points)} / {_fmt(t.max_points)}</span>'
             f'<span class="name">{escape(t.name)}</span>{hidden}']
    if t.message:
        parts.append(f'<div class="message">{"note: " if t.outcome == "passed" else ""}{escape(t.message)}</div>')
    if t.figures:
        parts.append('<div class="figures">' + "".join(svg(f) for f in t.figures) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def _exercise(report: GradeReport, title: str) -> str:
    heading = escape(report.exercise + (f": {title}" if title else ""))
    parts = [f'<section class="exercise"><h2>{heading}</h2>',
             f'<p class="score">Score: {_fmt(report.score)} / {_fmt(report.max_score)} '
             f'({sum(t.outcome == "passed" for t in report.tests)} of {len(report.tests)} tests passed)</p>']
    if report.problem:
        parts.append(f'<p class="problem">{escape(report.problem)}</p>')
    parts += [f'<p class="note">Note: {escape(n)}</p>' for n in report.notes]
    parts += [_test(t) for t in report.tests]
    if report.output.strip():
        shown = report.output if len(report.output) <= _OUTPUT_CHARS else \
            report.output[:_OUTPUT_CHARS] + f"\n[... {len(report.output) - _OUTPUT_CHARS} more characters]"
        parts.append(f'<p>Your code printed:</p><pre class="output">{escape(shown)}</pre>')
    parts += [f'<p class="warning">Warning: {escape(w)}</p>' for w in report.warnings]
    parts.append("</section>")
    return "".join(parts)


def report_html(reports: list[GradeReport], *, titles: dict[str, str] | None = None,
                heading: str = "Grading report") -> str:
    """One page for one or more reports (`grade all --html`)."""
    titles = titles or {}
    total = (f'<p class="score">Total: {_fmt(sum(r.score for r in reports))} / '
             f'{_fmt(sum(r.max_score for r in reports))}</p>') if len(reports) > 1 else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{escape(heading)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{escape(heading)}</h1>{total}"
            + "".join(_exercise(r, titles.get(r.exercise, "")) for r in reports)
            + "</body></html>\n")


def write_html(path, reports: list[GradeReport], **options) -> None:
    """Write the page atomically (grader/files.py: a temporary file, then renamed)."""
    from grader.files import write_atomic

    write_atomic(path, report_html(reports, **options).encode("utf-8"))
