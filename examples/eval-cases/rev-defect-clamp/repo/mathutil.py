"""Number helpers."""


def sign(x):
    """Returns -1, 0 or 1."""
    return (x > 0) - (x < 0)
