"""Fault tests: the sync against a misbehaving API, database and operator, then convergence."""
