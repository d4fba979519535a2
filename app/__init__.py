"""erdv: security-first medical appointment booking."""

__version__ = "0.1.0"
