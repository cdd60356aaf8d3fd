"""He normal with std 2 / fan_in (forgot the square root).

function: he_normal
mistake: init.std_no_sqrt
"""


def he_normal(fan_in, fan_out, rng):
    std = 2.0 / fan_in
    return rng.normal(0.0, std, size=(fan_in, fan_out))
