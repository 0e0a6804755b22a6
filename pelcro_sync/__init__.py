"""pelcro-sync: Pelcro Core API data into your own Postgres warehouse."""
