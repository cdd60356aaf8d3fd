"""Figures drawn by the grader (grader/figures.py) and the HTML report (grader/html_report.py):
the SVG is well-formed and escapes what it shows, sparklines follow the numbers, malformed
data never raises, and a real headless Chromium renders the page: its figures are drawn
(coloured pixels where the SVG is) and a hostile string in a message stays text.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from grader.figures import BLOCKS, sparkline, svg
from grader.html_report import report_html
from grader.report import GradeReport
from grader.report import TestResult as Result

HOSTILE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>&amp;'
SVG_NS = "{http://www.w3.org/2000/svg}"

HISTOGRAMS = {"title": "활성화 분포 (sigmoid, std 1) " + HOSTILE, "kind": "histograms",
              "data": {"edges": [0, 0.25, 0.5, 0.75, 1.0],
                       "series": [{"label": f"layer {i}", "counts": [40 - 5 * i, 3, 2, 30 + 5 * i]}
                                  for i in range(1, 6)]}}
CURVES = {"title": "loss per epoch", "kind": "curves",
          "data": {"x_label": "epoch", "y_label": "loss",
                   "series": [{"label": "without", "values": [2.3, 1.2, 0.6, 0.3, 0.1]},
                              {"label": "with <b>weight decay</b>", "values": [2.3, 1.3, 0.8, None, 0.5]}]}}


def test_svg_is_well_formed_and_escapes_its_text():
    for fig in (HISTOGRAMS, CURVES):
        root = ET.fromstring(svg(fig))  # raises on anything that is not well-formed XML
        assert root.tag == f"{SVG_NS}svg"
        texts = [t.text for t in root.iter(f"{SVG_NS}text")]
        assert fig["title"] in texts  # the title, Hangul and markup included, is one text node
        assert not list(root.iter(f"{SVG_NS}script")) and not list(root.iter("script"))
    hist = ET.fromstring(svg(HISTOGRAMS))
    bars = [r for r in hist.iter(f"{SVG_NS}rect") if r.get("fill") not in ("#fff", "#f6f6f6")]
    assert len(bars) == 5 * 4  # one bar per non-zero count
    assert "with <b>weight decay</b>" in [t.text for t in ET.fromstring(svg(CURVES)).iter(f"{SVG_NS}text")]
    # a missing value breaks the second curve into two pieces (a line and a single point)
    curves = ET.fromstring(svg(CURVES))
    assert len(list(curves.iter(f"{SVG_NS}polyline"))) == 2


def test_svg_height_follows_its_content():
    one = dict(HISTOGRAMS, data=dict(HISTOGRAMS["data"], series=HISTOGRAMS["data"]["series"][:1]))
    six = dict(HISTOGRAMS, data=dict(HISTOGRAMS["data"], series=HISTOGRAMS["data"]["series"] * 2))
    assert int(ET.fromstring(svg(six)).get("height")) > int(ET.fromstring(svg(one)).get("height"))


@pytest.mark.parametrize("figure", [
    {}, {"kind": "pie", "title": "x", "data": {}}, {"kind": "curves", "title": "t", "data": None},
    {"kind": "curves", "title": "t", "data": {"series": [{"label": "a", "values": ["x", None, float("nan")]}]}},
    {"kind": "histograms", "title": "t", "data": {"edges": "no", "series": [{"counts": [1, 2]}, 5]}},
])
def test_malformed_figures_draw_what_they_can(figure):
    ET.fromstring(svg(figure))
    assert isinstance(sparkline(figure), str)


def test_sparklines_follow_the_numbers():
    text = sparkline(CURVES)
    lines = text.splitlines()
    assert lines[0] == "loss per epoch"
    without = lines[1]
    # scaled to [min, max] = [0.1, 2.3] in 8 levels: 2.3 -> 7, 1.2 -> 4, 0.6 -> 1, 0.3 -> 0, 0.1 -> 0
    assert without.split()[1] == BLOCKS[7] + BLOCKS[4] + BLOCKS[1] + BLOCKS[0] + BLOCKS[0]
    assert without.endswith("2.3 -> 0.1")
    # its own scale [0.5, 2.3]; the missing value is a blank
    assert lines[2].split("decay</b> ")[1].startswith(BLOCKS[7] + BLOCKS[3] + BLOCKS[1] + " " + BLOCKS[0])
    hist = sparkline(HISTOGRAMS)
    assert hist.count("layer") == 5 and BLOCKS[-1] in hist and BLOCKS[0] in hist
    long = {"title": "t", "kind": "curves", "data": {"series": [{"label": "a", "values": list(range(500))}]}}
    assert len(sparkline(long, width=30).splitlines()[1]) < 60


def _report(message=HOSTILE):
    tests = (Result(name="init_network: activations", function="init_network", max_points=3,
                        outcome="failed", hidden=False, message=message, figures=(HISTOGRAMS, CURVES)),
             Result(name="train: the gap narrows", function="train", max_points=2, outcome="passed",
                        hidden=True, message="", figures=()))
    return GradeReport(exercise="exercise6", tests=tests, output=HOSTILE + "\n안녕하세요")


def test_html_report_escapes_student_text():
    page = report_html([_report()], titles={"exercise6": "A network"})
    assert HOSTILE not in page
    assert "&lt;script&gt;" in page and "<script" not in page
    assert page.count("<svg") == 2


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    browser = _chromium()
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180)


def _png_pixels(path: Path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit PNG, without an imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2}.get(kind)
            if pred is None:  # Paeth
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


@pytest.mark.skipif(_chromium() is None, reason="needs a headless Chromium (Debian package 'chromium')")
def test_chromium_renders_the_report_and_its_figures(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report_html([_report()], titles={"exercise6": "A network"}), encoding="utf-8")
    dom = _run_chromium(["--dump-dom", page.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count("<svg") == 2 and "<polyline" in html
    assert "<script" not in html and "<img" not in html and "pwned" not in html.split("<title>")[1].split("</title>")[0]
    assert "&lt;script&gt;document.title" in html  # the hostile string is there, as text
    assert "활성화 분포" in html and "안녕하세요" in html
    shot = tmp_path / "shot.png"
    done = _run_chromium([f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri()], tmp_path)
    assert shot.is_file(), done.stderr[-2000:]
    width, height, bpp, rows = _png_pixels(shot)
    # the histogram bars are COLORS[0] = #1f77b4: the figure was drawn, not just its text
    blue = bytes([0x1F, 0x77, 0xB4])
    hits = sum(row[i:i + 3] == blue for row in rows[::4] for i in range(0, width * bpp, bpp * 2))
    assert hits > 50, f"no figure pixels in the screenshot ({hits})"


def test_grade_html_writes_the_page_and_a_missing_folder_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from grader.cli import main
    from tests.conftest import ROOT

    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["exercise6", "--submission", str(ROOT / "solutions/exercise6/network.py"),
                                       "-k", "experiment_initialization", "--html", str(page), "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert "exercise6" in text and text.count("<svg") == 6  # five histograms and the He funnel's curve
    assert "~ sigmoid activations, std 1 weights" in result.stdout  # the terminal's sparklines
    missing = CliRunner().invoke(main, ["exercise3", "--html", str(tmp_path / "no" / "r.html"),
                                        "--course", str(ROOT)])
    assert missing.exit_code == 2 and "Error: --html" in missing.output and "does not exist" in missing.output
