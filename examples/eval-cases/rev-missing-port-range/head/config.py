"""Reading settings."""


def parse_host(text):
    """Returns the host name, stripped."""
    return text.strip()


def parse_port(text):
    """Returns the port number in `text`."""
    return int(text.strip())
