"""inverted dropout that ignores train and applies a mask at test time too

function: dropout_forward
mistake: dropout.test_mode_masks
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if True:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
