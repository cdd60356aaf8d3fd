"""Figures drawn by the grader from plain numbers: inline SVG and terminal sparklines.

A test attaches figures to its result (`grader.checks.figure`): {"title", "kind", "data"}
whose data are numbers the grader computed (histogram counts and edges, values per
epoch). Nothing the student's process drew is ever shown. Two kinds:

    histograms  {"edges": [e0, ..., eB], "series": [{"label", "counts": [B numbers]}, ...]}
                one small panel per series (e.g. per layer), sharing the edges
    curves      {"x_label", "y_label", "series": [{"label", "values": [...]}, ...],
                 "y_range": [lo, hi] (optional: the y axis shows at least this range)}
                one line per series over 1, 2, ... (e.g. per epoch), the legend below

`svg(figure) -> str` is a self-contained <svg> element (no script, no external font or
image; every text escaped, so a title in Hangul or with markup shows as text);
`sparkline(figure) -> str` is the same data as a few lines of block characters. Both are
pure functions, and never raise on malformed data: they draw what they can and say
"(no data)" otherwise. No plotting library: matplotlib would cost seconds to import.
"""

from __future__ import annotations

import math
from html import escape

WIDTH = 560
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
BLOCKS = "▁▂▃▄▅▆▇█"
FONT = 'font-family="sans-serif"'


def _numbers(values) -> list:
    """Finite floats (None for anything else), from a list that may hold anything."""
    out = []
    for v in values if isinstance(values, (list, tuple)) else []:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(f if math.isfinite(f) else None)
    return out


def _series(figure) -> list[tuple[str, list]]:
    data = figure.get("data") if isinstance(figure, dict) else None
    series = data.get("series") if isinstance(data, dict) else None
    out = []
    for s in series if isinstance(series, list) else []:
        if isinstance(s, dict):
            values = s.get("counts") if figure.get("kind") == "histograms" else s.get("values")
            out.append((str(s.get("label", "")), _numbers(values)))
    return out


def _text(x, y, text, *, size=11, anchor="start", weight="normal", color="#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}" {FONT}>{escape(str(text))}</text>')


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.2g}"
    return f"{v:.3g}"


def svg(figure: dict) -> str:
    """The figure as an inline <svg> element."""
    kind = figure.get("kind") if isinstance(figure, dict) else None
    title = str(figure.get("title", "")) if isinstance(figure, dict) else ""
    body, height = (_histograms(figure) if kind == "histograms" else
                    _curves(figure) if kind == "curves" else ([], 40))
    if not body:
        body, height = [_text(WIDTH / 2, 44, "(no data)", anchor="middle", color="#888")], 56
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="figure" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img"><title>{escape(title)}</title>'
            f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>'
            + _text(8, 16, title, size=13, weight="bold") + "".join(body) + "</svg>")


def _histograms(figure) -> tuple[list[str], int]:
    series = [(label, counts) for label, counts in _series(figure) if counts]
    if not series:
        return [], 0
    edges = _numbers(figure["data"].get("edges"))
    per_row = min(len(series), 5)
    rows = math.ceil(len(series) / per_row)
    gap, top, panel_h = 10, 26, 90
    panel_w = (WIDTH - gap * (per_row + 1)) / per_row
    out = []
    for n, (label, counts) in enumerate(series):
        x0 = gap + (n % per_row) * (panel_w + gap)
        y0 = top + (n // per_row) * (panel_h + 34)
        peak = max((c for c in counts if c is not None), default=0) or 1
        bar_w = panel_w / len(counts)
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{panel_w:.1f}" height="{panel_h}" '
                   f'fill="#f6f6f6" stroke="#ccc"/>')
        for i, c in enumerate(counts):
            if c:
                h = panel_h * c / peak
                out.append(f'<rect x="{x0 + i * bar_w:.1f}" y="{y0 + panel_h - h:.1f}" '
                           f'width="{max(bar_w - 0.5, 0.5):.1f}" height="{h:.1f}" fill="{COLORS[0]}"/>')
        out.append(_text(x0 + panel_w / 2, y0 + panel_h + 13, label, size=10, anchor="middle"))
        if len(edges) == len(counts) + 1 and edges[0] is not None and edges[-1] is not None:
            out.append(_text(x0, y0 + panel_h + 25, _fmt(edges[0]), size=9, color="#666"))
            out.append(_text(x0 + panel_w, y0 + panel_h + 25, _fmt(edges[-1]), size=9, anchor="end",
                             color="#666"))
    return out, top + rows * (panel_h + 34) + 4


def _curves(figure) -> tuple[list[str], int]:
    series = [(label, values) for label, values in _series(figure) if any(v is not None for v in values)]
    if not series:
        return [], 0
    data = figure["data"]
    left, right, top, plot_h = 58, 14, 28, 180
    plot_w = WIDTH - left - right
    finite = [v for _, values in series for v in values if v is not None]
    lo, hi = min(finite), max(finite)
    wanted = _numbers(data.get("y_range"))  # [lo, hi] the axis must show, e.g. [0, 1]
    if len(wanted) == 2 and None not in wanted:
        lo, hi = min(lo, wanted[0]), max(hi, wanted[1])
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    longest = max(len(values) for _, values in series)
    x_of = lambda i: left + (plot_w * i / (longest - 1) if longest > 1 else plot_w / 2)  # noqa: E731
    y_of = lambda v: top + plot_h * (hi - v) / (hi - lo)  # noqa: E731
    out = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#bbb"/>']
    for v in (lo + pad, (lo + hi) / 2, hi - pad):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" '
                   f'stroke="#e2e2e2"/>')
        out.append(_text(left - 4, y_of(v) + 3, _fmt(v), size=9, anchor="end", color="#555"))
    out.append(_text(left, top + plot_h + 13, "1", size=9, color="#555"))
    out.append(_text(left + plot_w, top + plot_h + 13, str(longest), size=9, anchor="end", color="#555"))
    out.append(_text(left + plot_w / 2, top + plot_h + 26, data.get("x_label", ""), size=10, anchor="middle"))
    out.append(f'<text transform="translate(12 {top + plot_h / 2:.1f}) rotate(-90)" font-size="10" '
               f'text-anchor="middle" fill="#222" {FONT}>{escape(str(data.get("y_label", "")))}</text>')
    for n, (label, values) in enumerate(series):
        color = COLORS[n % len(COLORS)]
        for run in _runs(values):  # a missing value breaks the line
            points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in run)
            if len(run) == 1:
                i, v = run[0]
                out.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="2.5" fill="{color}"/>')
            else:
                out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        if longest <= 12:  # few points: mark each
            out += [f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="2.5" fill="{color}"/>'
                    for i, v in enumerate(values) if v is not None]
    legend_top = top + plot_h + 44  # one line per series under the plot: long labels fit
    for n, (label, _) in enumerate(series):
        y = legend_top + n * 15
        out.append(f'<rect x="{left}" y="{y - 5}" width="14" height="3" fill="{COLORS[n % len(COLORS)]}"/>')
        out.append(_text(left + 20, y, label, size=10))
    return out, legend_top + len(series) * 15


def _runs(values) -> list[list[tuple[int, float]]]:
    runs, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, v))
    return runs + ([current] if current else [])


# ------------------------------------------------------------------------------ terminal

def _blocks(values, lo=None, hi=None) -> str:
    finite = [v for v in values if v is not None]
    if not finite:
        return ""
    lo = min(finite) if lo is None else lo
    hi = max(finite) if hi is None else hi
    span = hi - lo
    return "".join(" " if v is None else
                   BLOCKS[0 if span <= 0 else min(len(BLOCKS) - 1, int((v - lo) / span * len(BLOCKS)))]
                   for v in values)


def _shrink(values, width: int) -> list:
    """At most `width` values: the mean of each consecutive group."""
    if len(values) <= width:
        return list(values)
    out = []
    for k in range(width):
        group = [v for v in values[len(values) * k // width:len(values) * (k + 1) // width] if v is not None]
        out.append(sum(group) / len(group) if group else None)
    return out


def sparkline(figure: dict, *, width: int = 40) -> str:
    """The figure in a few lines of text: its title, then one sparkline per series
    (a histogram's panels side by side on one line, a curve with its first and last value)."""
    title = str(figure.get("title", "")) if isinstance(figure, dict) else ""
    kind = figure.get("kind") if isinstance(figure, dict) else None
    series = _series(figure) if kind in ("histograms", "curves") else []
    if not any(v is not None for _, values in series for v in values):
        return f"{title}: (no data)"
    if kind == "histograms":
        bins = max(4, min(10, width // max(1, len(series))))
        parts = [f"{label} {_blocks(_shrink(counts, bins), lo=0)}" for label, counts in series]
        return f"{title}\n  " + "  ".join(parts)
    label_w = max(len(label) for label, _ in series)
    lines = [title]
    for label, values in series:
        finite = [v for v in values if v is not None]
        ends = f"{_fmt(finite[0])} -> {_fmt(finite[-1])}" if finite else ""
        lines.append(f"  {label:<{label_w}} {_blocks(_shrink(values, width))} {ends}")
    return "\n".join(lines)
