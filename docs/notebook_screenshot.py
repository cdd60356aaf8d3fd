"""Take docs/notebook-check.png: what `grader.check(...)` shows a student in a notebook.

    .venv/bin/python docs/notebook_screenshot.py [--out docs/notebook-check.png]

Writes a student release of this course (`grade release`, public tests only) to a
temporary folder, runs a notebook there in a real Jupyter kernel (a dropout_forward with a
catalogued mistake, then `grader.check("dropout_forward")`), exports it to HTML with
nbconvert and photographs the page with headless Chromium (Debian: apt-get install
chromium). Nothing in the repository changes but the picture.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STUDENT_CODE = '''import numpy as np


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)   # the mistake: inverted dropout already rescaled in training
    return out, (mask, p, train)'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "notebook-check.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("no chromium on PATH (Debian: apt-get install chromium)")
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    with tempfile.TemporaryDirectory(prefix="grader-screenshot-") as tmp:
        bundle = Path(tmp) / "exercises-release"
        subprocess.run([sys.executable, "-m", "grader", "release", str(bundle), "--course", str(ROOT)],
                       check=True, capture_output=True)
        folder = bundle / "exercises" / "exercise3"
        v4 = nbformat.v4
        nb = v4.new_notebook(cells=[
            v4.new_markdown_cell("## Exercise 3: dropout\nWrite `dropout_forward`, then check it."),
            v4.new_code_cell('from grader.notebook import Grader\n\ngrader = Grader("exercise3")'),
            v4.new_code_cell(STUDENT_CODE),
            v4.new_code_cell('grader.check("dropout_forward")'),
        ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        page = Path(tmp) / "notebook.html"
        page.write_text(body, encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={Path(tmp) / 'profile'}", "--hide-scrollbars",
                        "--window-size=1000,800", "--virtual-time-budget=3000",
                        f"--screenshot={args.out.resolve()}", page.as_uri()],
                       check=True, capture_output=True, timeout=180)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
