"""Smoke test: every Python file of the project compiles."""

import pathlib
import py_compile


def test_python_files_compile():
    root = pathlib.Path(__file__).resolve().parents[1]
    skip = {".venv", "venv", "site-packages", ".git", "node_modules"}
    files = [p for p in root.rglob("*.py") if not skip & set(p.parts)]
    assert files, "no Python files found"
    for path in files:
        py_compile.compile(str(path), doraise=True)
