"""The site partitions every Pelcro asset shares."""

import dagster as dg

# Dynamic, not static: the site list comes from PELCRO_SITE_ID or from `GET /account`, and
# reading either at import time would put I/O (or a stale list) in the code location's load.
# `pelcro_sites_sensor` adds the sites at runtime; a backfill over sites or a re-sync of one
# site is then a partition selection in the UI.
SITES = "pelcro_site"
SITE_PARTITIONS = dg.DynamicPartitionsDefinition(name=SITES)
