"""Reading settings."""


def parse_host(text):
    """Returns the host name, stripped."""
    return text.strip()
