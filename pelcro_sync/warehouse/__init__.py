"""The Postgres warehouse: tables built from the registry, engine, upsert, sync state."""
