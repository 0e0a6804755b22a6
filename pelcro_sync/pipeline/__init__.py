"""What to read and what to write: the sync of one entity, scans, fast path, deletes, the runner."""
