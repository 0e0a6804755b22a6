"""Dagster definitions for pelcro-sync, one module per kind; `definitions.py` gathers them."""
