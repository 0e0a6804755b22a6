"""`pelcro_sites_sensor`: keeps the site partitions in step with the account's sites."""

import dagster as dg

from dagster_project.defs.partitions import SITE_PARTITIONS, SITES
from dagster_project.defs.resources import PelcroResource


@dg.sensor(
    name="pelcro_sites_sensor",
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a `pelcro_site` partition for each site of PELCRO_SITE_ID, or for every "
    "site `GET /account` lists when it is unset (over every account of PELCRO_ACCOUNTS). "
    "Never removes one: history stays visible.",
)
def pelcro_sites_sensor(
    context: dg.SensorEvaluationContext, pelcro: PelcroResource
) -> dg.SensorResult | dg.SkipReason:
    if not pelcro.has_credential:
        return dg.SkipReason(
            "no Pelcro credentials: set PELCRO_API_KEY, PELCRO_ACCESS_TOKEN or PELCRO_ACCOUNTS"
        )
    # Every site of every configured account (PELCRO_ACCOUNTS), or of the one account.
    sites = [str(site) for site in pelcro.all_site_ids()]
    known = set(context.instance.get_dynamic_partitions(SITES))
    new = [site for site in sites if site not in known]
    if not new:
        return dg.SkipReason(f"all {len(sites)} sites are partitions already")
    context.log.info(f"adding site partitions: {', '.join(new)}")
    return dg.SensorResult(dynamic_partitions_requests=[SITE_PARTITIONS.build_add_request(new)])
