"""Dagster code location for pelcro-sync: thin wrappers over the pelcro_sync library."""
