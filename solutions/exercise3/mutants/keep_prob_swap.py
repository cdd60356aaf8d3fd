"""p used as the keep probability: mask = rng.random(x.shape) < p, kept units divided by p

function: dropout_forward
mistake: dropout.keep_prob_swap
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) < p) / p
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
