"""Several gradient checks of one forward/backward pair in two round trips.

`gradcheck_each(forward, backward, cases)` gives the verdicts and messages of
`[gradcheck(forward, backward, **case) for case in cases]`, in that order, for two round
trips instead of two per case: every case's forward call is sent at once, then every
backward call whose forward gave a cache. Each `gradcheck` then takes its own results from
there and fails where it would have alone (a call's error is raised when its case reaches
it); the gradient of the student's own forward pass, needed only for a wrong gradient, is
computed as `gradcheck` does it. One difference: a call that crashes the worker or runs out
of time ends its whole request, so the cases before it in the same request get that error
too, where alone they would have had their own verdict.

The forward calls are sent as copies of their arguments, so each `gradcheck` replays the
generators as the test made them (its own-forward gradient must replay the same mask), and
arrays that a forward pass may update in place (`mutates` in course.yml) are left as given.
For the same reason two cases may not share a generator or such an array (TypeError): they
would both start from its state, where separate gradchecks advance it from case to case.
"""

from __future__ import annotations

import copy

import numpy as np

from grader.checks.calls import Call, array, bound_arguments
from grader.checks.gradients import GradCheck, gradcheck


def gradcheck_each(forward, backward, cases, **common) -> list[GradCheck]:
    """`gradcheck(forward, backward, **{**common, **case})` for each case (a dict holding at
    least `args` and the keywords that differ from case to case), in two round trips.
    `forward_returns`, if given, is common to every case."""
    merged = [{**common, **case} for case in cases]
    calls = [c["args"] if isinstance(c["args"], Call) else Call(tuple(c["args"]), {}) for c in merged]
    _own_state(forward, calls)
    first = forward.submission.signatures[forward.__name__].params[0].name
    returns = common.get("forward_returns") or (array("out", like=first), "cache")
    sent = forward.each([Call(*copy.deepcopy((c.args, c.kwargs))) for c in calls], returns=returns)

    def backward_calls():
        from grader.sandbox.proxy import StudentError
        ready = []
        for i, case in enumerate(merged):
            try:
                ready.append((case["dout"], sent[i][1]))
            except (StudentError, AssertionError):
                pass  # its gradcheck raises this error when it reaches the case
        return ready, backward.each(ready)

    ahead_f, ahead_b = _Ahead(forward, lambda: (calls, sent), returns), _Ahead(backward, backward_calls, None)
    return [gradcheck(ahead_f, ahead_b, call, **{k: v for k, v in case.items() if k != "args"})
            for case, call in zip(merged, calls)]


def _own_state(forward, calls) -> None:
    """Each case's forward call is sent as a copy of its arguments: a generator, or an array
    the forward pass updates in place (`mutates` in course.yml), that two cases share would
    start both from the same state, where separate gradchecks advance it from one case to the
    next. Such cases are refused."""
    mutated = set(forward.submission.exercise.mutates.get(forward.__name__, ()))
    seen = {}
    for i, call in enumerate(calls):
        for name, value in bound_arguments(forward, call).items():
            stateful = isinstance(value, np.random.Generator) or name in mutated and isinstance(value, np.ndarray)
            if stateful and seen.setdefault(id(value), i) != i:
                raise TypeError(f"gradcheck_each: cases {seen[id(value)] + 1} and {i + 1} share one {name}; "
                                f"give each case its own (seeded(...), a copy), or call gradcheck case by case")


class _Ahead:
    """A student function some of whose calls were sent ahead (`sent()` gives them and their
    `Results`, once): `each` given exactly one of them (the same argument objects) and the same
    `returns` takes its result from there; any other call goes to the function itself."""

    def __init__(self, function, sent, returns):
        self._function, self._sent, self._returns, self._batch = function, sent, returns, None

    def __getattr__(self, name):  # __name__, submission, ...
        return getattr(self._function, name)

    def each(self, calls, returns=None):
        if len(calls) == 1 and returns == self._returns:
            one = calls[0] if isinstance(calls[0], Call) else Call(tuple(calls[0]), {})
            if self._batch is None:
                self._batch = self._sent()
            for i, sent in enumerate(self._batch[0]):
                args, kwargs = (sent.args, sent.kwargs) if isinstance(sent, Call) else (sent, {})
                if _same(args, one.args) and _same(kwargs, one.kwargs):
                    return _Taken(self._batch[1], i)
        return self._function.each(calls, returns=returns)


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(a[k] is b[k] for k in a)
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class _Taken:
    """One result of a batch, as `each([call])` gives it: taken (or raising) at `[0]`."""

    def __init__(self, results, index):
        self._results, self._index = results, index

    def __len__(self) -> int:
        return 1

    def __getitem__(self, k: int):
        if k not in (0, -1):
            raise IndexError(k)
        return self._results[self._index]
