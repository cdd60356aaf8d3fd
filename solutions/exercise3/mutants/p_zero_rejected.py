"""p = 0 rejected (checks 0 < p < 1)

function: vanilla_dropout_forward
mistake: dropout.p_zero_rejected
"""


def vanilla_dropout_forward(x, p, train, rng):
    if not 0 < p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = rng.random(x.shape) >= p  # True = kept
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)
    cache = (mask, p, bool(train))
    return out, cache
