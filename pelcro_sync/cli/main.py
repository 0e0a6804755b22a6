"""The `pelcro-sync` command: check, migrate, sync, status, sandbox, demo, oauth, dev.

Every failure ends with one line on stderr and a non-zero exit; `--debug` shows the
traceback instead.
"""

import logging
import sys
from collections.abc import Sequence
from datetime import timedelta

import click
from rich.console import Console
from rich.text import Text

from pelcro_sync import config
from pelcro_sync.config import Settings
from pelcro_sync.entities import BY_NAME, get_entity
from pelcro_sync.errors import ConfigError, PelcroSyncError
from pelcro_sync.parsers import parse_duration
from pelcro_sync.redact import install_log_redaction, redact

ENV_HELP = (
    "Reads PELCRO_API_KEY or PELCRO_ACCESS_TOKEN, PELCRO_SITE_ID, PELCRO_BASE_URL, "
    "PELCRO_RATE_LIMIT, DATABASE_URL and PELCRO_SCHEMA (also from ./.env)."
)

VERBOSE_HELP = "Name, per entity, the fields records carry that the API docs do not list."
HELP_FLAGS = {"-h", "--help"}
HELP_ONLY = "help-only"
# Exit status of a setting that is missing or malformed, as click uses for a bad option.
CONFIG_EXIT = 2

# Wide enough for the summary table when output goes to a file or a CI log.
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


class Context:
    """What every command shares: the settings, read and validated once, at start."""

    def __init__(self, debug: bool, settings: Settings | None) -> None:
        self.debug = debug
        self._settings = settings

    def settings(self) -> Settings:
        return self._settings or Settings.from_env()


pass_ctx = click.make_pass_decorator(Context)


@click.group(
    help="Sync Pelcro Core API data into your own Postgres warehouse.\n\n" + ENV_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs on failure.")
@click.version_option(package_name="pelcro-sync")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()
    # Every command validates every setting before it starts (a bad value: one line, exit 2),
    # except when it is only asked for its help: main() says so, as click has already taken
    # the subcommand's arguments out of reach here.
    help_only = ctx.obj == HELP_ONLY
    ctx.obj = Context(debug, None if help_only else Settings.from_env())


@cli.command(
    help="Verify credentials and settings: GET /account, its sites and rate limit, "
    "and the warehouse it would write to. " + ENV_HELP
)
@pass_ctx
def check(ctx: Context) -> None:
    from pelcro_sync.cli.commands import check as run_check

    run_check(ctx.settings(), console=out)


@cli.command(
    help="Bring the warehouse schema to the latest migration. "
    "Reads DATABASE_URL (embedded Postgres when unset) and PELCRO_SCHEMA."
)
@pass_ctx
def migrate(ctx: Context) -> None:
    from pelcro_sync.cli.commands import migrate as run_migrate

    run_migrate(ctx.settings(), console=out)


@cli.command(
    help="Sync ENTITY tables (all when none is named) for the configured sites, "
    "with a progress bar per entity and a summary table. Migrates first if needed. "
    "Without --full: the fast path (newest first, stopping at the first page with nothing "
    "new or changed) for entities the API lists newest first; the others get a full scan "
    "once their last complete scan is over 24 h old, else are skipped. "
    "With --full: a reconcile scan of every page, then deletes confirmed and marked. "
    f"Entities: {', '.join(BY_NAME)}. " + ENV_HELP
)
@click.argument("entities", nargs=-1, metavar="[ENTITY]...")
@click.option(
    "--site",
    "sites",
    multiple=True,
    type=int,
    metavar="ID",
    help="Site id to sync (repeatable). Default: PELCRO_SITE_ID, else every site.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Reconcile scan: read every page, then mark records gone from Pelcro as deleted "
    "(each confirmed by a GET answering 404, or by a second scan).",
)
@click.option(
    "--max-delete-share",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="SHARE",
    help="Stop instead of marking when more than this share of an entity's live rows would "
    "be deleted at once (0..1; 1 allows any). Default: PELCRO_MAX_DELETE_SHARE, else 0.1.",
)
@click.option(
    "--wait",
    "lock_wait_s",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run of the same site and entity to finish.",
)
@click.option(
    "--workers",
    default=4,
    show_default=True,
    help="Entities synced at the same time (they share one request budget).",
)
@click.option(
    "--time-limit",
    "time_limit",
    default=None,
    metavar="DURATION",
    callback=lambda ctx, param, value: _duration(value),
    help="Stop full scans cleanly after the pages in flight once this much time has passed "
    "(90m, 6h), say how far each entity got and exit 0; the next --full run resumes them, "
    "unfinished and least recently scanned entities first. The nightly Dagster reconcile "
    "uses PELCRO_RECONCILE_WINDOW.",
)
@click.option("--verbose", is_flag=True, help=VERBOSE_HELP)
@pass_ctx
def sync(
    ctx: Context,
    entities: Sequence[str],
    sites: Sequence[int],
    full: bool,
    max_delete_share: float | None,
    lock_wait_s: float,
    workers: int,
    time_limit: timedelta | None,
    verbose: bool,
) -> None:
    from pelcro_sync.cli.commands import sync as run_sync

    chosen = [_entity(name) for name in entities]
    run_sync(
        ctx.settings(),
        entities=chosen,
        sites=list(sites),
        full=full,
        workers=workers,
        console=out,
        max_delete_share=max_delete_share,
        lock_wait_s=lock_wait_s,
        verbose=verbose,
        time_limit=time_limit,
    )


@cli.command(
    help="The request budget: per entity and site the records, pages and requests of a full "
    "reconcile and of a fast-path run, minutes at the account's rate limit, the share of the "
    "limit the schedules use a day, and whether the reconcile fits PELCRO_RECONCILE_WINDOW "
    "(default 6h). Costs at most 2 + entities x sites requests. Also reads PELCRO_FAST_CRON "
    "and PELCRO_RECONCILE_CRON. " + ENV_HELP
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@pass_ctx
def plan(ctx: Context, as_json: bool) -> None:
    from pelcro_sync.cli.plan_cmd import run as run_plan

    run_plan(ctx.settings(), as_json=as_json, console=out)


@cli.command(
    help="Last successful sync per site and entity, with row counts, the age of the last "
    "complete reconcile scan and how far an unfinished one got. "
    "Reads DATABASE_URL and PELCRO_SCHEMA."
)
@pass_ctx
def status(ctx: Context) -> None:
    from pelcro_sync.cli.commands import status as run_status

    run_status(ctx.settings(), console=out)


@cli.command(
    help="Erase a customer's personal data (names, email, phone, addresses, free text in "
    "metadata) from the current tables, every history version and the stored webhook events, "
    "in their records and in the records that embed their data; ids, amounts, dates and "
    "statuses stay. Recorded in _erasures. A later sync brings back what Pelcro still holds, "
    "as a new version; erased versions stay erased. Reads DATABASE_URL and PELCRO_SCHEMA."
)
@click.option(
    "--customer",
    "customer_id",
    required=True,
    type=click.IntRange(1, 2**63 - 1),
    metavar="ID",
    help="Pelcro id of the customer to forget.",
)
@click.option(
    "--site",
    "site_id",
    type=click.IntRange(1, 2**63 - 1),
    default=None,
    metavar="ID",
    help="Erase on this site only. Default: every site the customer is on.",
)
@click.option(
    "--by", default=None, metavar="NAME", help="Who asked, for _erasures. Default: the OS user."
)
@pass_ctx
def forget(ctx: Context, customer_id: int, site_id: int | None, by: str | None) -> None:
    from pelcro_sync.cli.forget import run as run_forget

    if by is not None and (not by.strip() or not by.isprintable()):
        raise click.BadParameter("must be a non-empty name on one line", param_hint="--by")
    run_forget(
        ctx.settings(),
        customer_id=customer_id,
        site_id=site_id,
        by=by.strip() if by else None,
        console=out,
    )


@cli.command(
    help="Build the analytics marts (the dbt project in analytics/: MRR, movements, churn, "
    "revenue, customer 360) in PELCRO_MARTS_SCHEMA (default pelcro_marts) from the warehouse "
    "tables, then run their tests; one line per model. Reads DATABASE_URL, PELCRO_SCHEMA and "
    "PELCRO_MARTS_SCHEMA."
)
@pass_ctx
def marts(ctx: Context) -> None:
    from pelcro_sync.cli.marts import build_marts

    build_marts(ctx.settings(), console=out)


@cli.command(
    help="Serve the local Pelcro Core API emulator on 127.0.0.1 until stopped. "
    "Prints its base URL, an API key it accepts and its site ids."
)
@click.option("--port", default=8765, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--customers",
    default=1000,
    show_default=True,
    help="Data size: customers per account; other entities are proportional.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated data.")
@click.option(
    "--rate-limit",
    type=int,
    default=None,
    help="Requests per minute per account (429 beyond). Default: unlimited.",
)
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to each answer.")
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    help="Share of answers that fail (HTML 502, 503, dropped connections).",
)
def sandbox(
    port: int, customers: int, seed: int, rate_limit: int | None, latency: float, fault_rate: float
) -> None:
    from pelcro_sync.cli.commands import serve_sandbox

    serve_sandbox(
        port=port,
        customers=customers,
        seed=seed,
        rate_limit=rate_limit,
        latency=latency,
        fault_rate=fault_rate,
        console=out,
    )


@cli.command(
    help="On a machine with nothing configured: start the sandbox and the embedded "
    "Postgres, sync everything, print what landed and how to open the Dagster UI. "
    "Reads nothing from the environment."
)
@click.option("--customers", default=1000, show_default=True, help="Sandbox data size.")
@click.option("--verbose", is_flag=True, help=VERBOSE_HELP)
def demo(customers: int, verbose: bool) -> None:
    from pelcro_sync.cli.demo import run_demo

    run_demo(customers=customers, console=out, verbose=verbose)


@cli.command(
    help="Open the Dagster UI (dagster dev) on this project, against the configured "
    "Pelcro and warehouse. " + ENV_HELP
)
@click.option("--port", default=3000, show_default=True)
def dev(port: int) -> None:
    from pelcro_sync.cli.commands import dagster_dev

    dagster_dev(port=port)


@cli.group(
    help="OAuth 2.0 authorization-code flow. Reads PELCRO_CLIENT_ID, "
    "PELCRO_CLIENT_SECRET, PELCRO_REDIRECT_URI and PELCRO_OAUTH_URL."
)
def oauth() -> None:
    pass


@oauth.command("url", help="Print the URL where a Pelcro user authorizes this application.")
@pass_ctx
def oauth_url(ctx: Context) -> None:
    from pelcro_sync.api.oauth import authorize_url

    out.print(authorize_url(ctx.settings()), soft_wrap=True)


@oauth.command(
    "exchange",
    help="Exchange the CODE from the redirect for an access token and "
    "print it once, to set as PELCRO_ACCESS_TOKEN (valid for two days).",
)
@click.argument("code")
@pass_ctx
def oauth_exchange(ctx: Context, code: str) -> None:
    from pelcro_sync.cli.commands import exchange

    exchange(ctx.settings(), code, console=out, notes=err)


WEBHOOK_ENV_HELP = (
    "Reads PELCRO_WEBHOOK_SECRET (the signing secret from Pelcro: Settings → Notifications), "
    "DATABASE_URL (embedded Postgres when unset) and PELCRO_SCHEMA (also from ./.env)."
)


@cli.group(
    help="Pelcro webhooks: receive and verify deliveries (serve), apply them to the "
    "entity tables (apply). " + WEBHOOK_ENV_HELP
)
def webhooks() -> None:
    pass


@webhooks.command(
    "serve",
    help="Receive Pelcro webhooks until stopped: verify X-Pelcro-Hmac-SHA256, store each "
    "event once in _webhook_events, answer 200. Put it behind a TLS proxy and register its "
    "public URL in Pelcro. " + WEBHOOK_ENV_HELP,
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8766, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--tolerance",
    default=3 * 24 * 3600,
    show_default=True,
    help="Refuse events whose `created` is older than this many seconds (0: never).",
)
@pass_ctx
def webhooks_serve(ctx: Context, host: str, port: int, tolerance: int) -> None:
    from pelcro_sync.webhooks.run import serve

    serve(ctx.settings(), host=host, port=port, tolerance_s=tolerance, console=out)


@webhooks.command(
    "apply",
    help="Apply pending stored events to the entity tables once (the Dagster sensor does "
    "this continuously). Objects naming no site go to PELCRO_SITE_ID when it names one site. "
    "Reads DATABASE_URL, PELCRO_SCHEMA and PELCRO_SITE_ID.",
)
@click.option("--limit", default=100_000, show_default=True, help="Most events to apply.")
@pass_ctx
def webhooks_apply(ctx: Context, limit: int) -> None:
    from pelcro_sync.webhooks.run import apply_once

    apply_once(ctx.settings(), limit=limit, console=out)


def _entity(name: str):
    try:
        return get_entity(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ENTITY") from None


def _duration(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration("--time-limit", value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--time-limit") from None


def _fail(label: str, message: str) -> None:
    # Text, not markup: messages hold brackets such as filter[email].
    err.print(Text.assemble((f"{label}: ", "bold red"), message), soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one clear line and a non-zero exit for every failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        debug = debug or config.read("PELCRO_DEBUG")
        start = HELP_ONLY if HELP_FLAGS & set(args) else None
        cli.main(args=args, prog_name="pelcro-sync", standalone_mode=False, obj=start)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PelcroSyncError as exc:
        if debug:
            raise
        _fail("error", redact(str(exc)))
        sys.exit(CONFIG_EXIT if isinstance(exc, ConfigError) else 1)
    except KeyboardInterrupt:
        err.print("interrupted; the next run resumes where this one stopped")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        from pelcro_sync.pipeline.runner import explain

        _fail("unexpected error", f"{explain(exc)} (run with --debug for the traceback)")
        sys.exit(2)
