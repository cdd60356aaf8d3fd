"""inverted dropout without the 1/(1-p) rescaling in training

function: dropout_forward
mistake: dropout.no_rescale_train
"""


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) * 1.0
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
