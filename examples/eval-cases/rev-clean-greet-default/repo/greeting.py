"""Greetings."""


def greet(name):
    """Returns a greeting for `name`."""
    return f"Hello, {name}!"
