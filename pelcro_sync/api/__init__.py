"""The Pelcro Core API: auth, OAuth, accounts, pacing, retry decisions and pages."""
