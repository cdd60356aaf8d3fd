"""Running student code in a separate, isolated process.

The trusted side (`proxy`) never imports student code. A `zygote` process, started fresh
from a clean interpreter, forks one `worker` per submission, in a control group of its own
(`cgroups`); the worker isolates itself (`isolate`: limits, namespaces, capabilities,
Landlock; `mounts`: its read-only view of the filesystem; `seccomp`: the system calls it
may not make), imports the student's module and serves calls over a socket (`channel`).
"""
