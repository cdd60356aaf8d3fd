"""vanilla dropout without the (1-p) scaling at test time

function: vanilla_dropout_forward
mistake: vanilla.test_identity
"""


def vanilla_dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = rng.random(x.shape) >= p  # True = kept
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
