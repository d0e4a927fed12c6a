"""URL slugs."""

import re


def slugify(text):
    """Returns `text` as a URL slug."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
