"""dropout applied to x in place (x *= mask)

function: dropout_forward
mistake: inputs.changed_in_place
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        x *= mask
        out = x
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
