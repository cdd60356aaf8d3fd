"""Running student code in a separate, isolated process.

The trusted side (`proxy`) never imports student code. A `zygote` process, started fresh
from a clean interpreter, forks one `worker` per submission; the worker isolates itself
(`isolate`), imports the student's module and serves calls over a socket (`channel`).
"""
