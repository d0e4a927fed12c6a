"""Arithmetic helpers."""


def add(a, b):
    """Returns a + b."""
    return a + b


def subtract(a, b):
    """Returns a - b."""
    return a - b
