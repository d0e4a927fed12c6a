"""sample-python-app: a tiny greeting module for trying codex-orchestrator."""

import sys


def greet(name: str = "") -> str:
    """Return a greeting for `name` (the world when it is empty)."""
    return f"Hello, {name.strip() or 'world'}!"


if __name__ == "__main__":
    print(greet(" ".join(sys.argv[1:])))
