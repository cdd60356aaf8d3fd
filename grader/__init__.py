"""Sandboxed grading of deep-learning exercises.

Data flows one way: course -> sandbox -> checks -> report -> render.
"""

__version__ = "0.1.0"
