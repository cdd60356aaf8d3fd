"""vanilla dropout with one mask for all rows

function: vanilla_dropout_forward
mistake: dropout.shared_mask_rows
"""


def vanilla_dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = rng.random(x.shape[1:]) >= p
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)
    cache = (mask, p, bool(train))
    return out, cache
