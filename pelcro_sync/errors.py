"""Typed errors. Every message is one line a person can act on, and never holds a secret."""


class PelcroSyncError(Exception):
    """Base of every error pelcro-sync raises on purpose; the CLI prints its message alone."""


class ConfigError(PelcroSyncError):
    """A setting is missing or malformed."""
