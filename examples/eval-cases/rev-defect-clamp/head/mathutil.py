"""Number helpers."""


def sign(x):
    """Returns -1, 0 or 1."""
    return (x > 0) - (x < 0)


def clamp(x, lo, hi):
    """Returns x limited to the range lo..hi."""
    return max(lo, min(x, lo))
