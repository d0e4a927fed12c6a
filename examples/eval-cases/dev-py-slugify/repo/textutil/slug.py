"""URL slugs."""


def slugify(text):
    """Returns `text` as a URL slug."""
    raise NotImplementedError("slugify")
