"""inverted dropout that also scales by (1-p) at test time

function: dropout_forward
mistake: dropout.test_scales_by_keep
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)
    cache = (mask, p, bool(train))
    return out, cache
