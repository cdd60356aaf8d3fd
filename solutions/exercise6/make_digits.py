"""Writes digits.npz beside this file: scikit-learn's digits data set (1,797 images of 8x8
handwritten digits, pixel values 0-16, and their labels 0-9), stored compressed in the
course so that grading needs neither scikit-learn nor a download.

Instructor-only; run once (needs scikit-learn, which grading never imports):

    python solutions/exercise6/make_digits.py

The file holds `images` (uint8, 1797 x 64, row-major 8x8) and `labels` (uint8, 1797), in
scikit-learn's order. The run prints a SHA-256 of the arrays so a regeneration can be
compared with the stored file.
"""
import hashlib
from pathlib import Path

import numpy as np


def main() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.data.astype(np.uint8)  # whole numbers 0..16: uint8 is exact
    labels = digits.target.astype(np.uint8)
    assert np.array_equal(images, digits.data) and np.array_equal(labels, digits.target)
    assert images.shape == (1797, 64) and labels.shape == (1797,)
    path = Path(__file__).with_name("digits.npz")
    np.savez_compressed(path, images=images, labels=labels)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    print(f"wrote {path} ({path.stat().st_size} bytes); sha256 of images+labels: {digest}")


if __name__ == "__main__":
    main()
