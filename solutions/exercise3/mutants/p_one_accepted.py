"""p = 1 accepted (checks p <= 1): division by zero instead of ValueError

function: dropout_forward
mistake: args.no_value_error
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache


def vanilla_dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = rng.random(x.shape) >= p  # True = kept
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)
    cache = (mask, p, bool(train))
    return out, cache
