"""datarefresh: sanitized copies of production tables for dev and staging."""

__version__ = "0.1.0"
