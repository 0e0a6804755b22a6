"""Pelcro webhooks: verify and record deliveries durably, then apply them to entity tables."""
