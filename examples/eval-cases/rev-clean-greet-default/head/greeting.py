"""Greetings."""


def greet(name):
    """Returns a greeting for `name`; an empty name greets the world."""
    if not name:
        name = "world"
    return f"Hello, {name}!"
