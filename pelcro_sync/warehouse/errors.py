"""Warehouse errors: one line a person can act on, never with a password in it."""

from pelcro_sync.errors import PelcroSyncError


class WarehouseError(PelcroSyncError):
    """The warehouse cannot be reached, or its schema is not what this version expects."""


class MigrationDriftError(WarehouseError):
    """The database schema differs from the tables the registry declares."""
