"""The composition root: a `Runtime` from `Settings` - the state (SQLite, or `dynamodb://`), the channels (the
outbox, or `live`: credentials never switch it on by themselves) and the booking source (files or Naver)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naver_sms.config.loader import read_config
from naver_sms.config.models import AppConfig
from naver_sms.config.opt_out import FileOptOut
from naver_sms.config.settings import Settings, check_db_target, is_dynamo_url
from naver_sms.config_source import ConfigSource, S3Location, local_version, s3_client
from naver_sms.database.sqlite_repository import (
    SqliteDatabase,
    SqliteOutboxStore,
    SqliteRepository,
    SqliteSessionRepository,
)
from naver_sms.database.sqlite_runs import SqliteRunLog, sqlite_periods
from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.flags.machine import FlagRepository
from naver_sms.naver.files import JsonFileSource
from naver_sms.notifications.outbox import (
    OutboxSlack,
    OutboxSmsService,
    OutboxStore,
    OutboxTelegram,
)
from naver_sms.owner.after import AfterRun
from naver_sms.owner.daily import check_daily_report
from naver_sms.owner.publish import publisher_for
from naver_sms.ports import (
    BookingSource,
    OptOutList,
    RunLog,
    SessionRepository,
    SmsService,
    TelegramService,
)
from naver_sms.rotation import RefreshingSms, RefreshingTelegram
from naver_sms.rules.actions import register_actions
from naver_sms.rules.changes import on_demand
from naver_sms.rules.config_check import check_config
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule, statuses_asked
from naver_sms.runner import Runtime

if TYPE_CHECKING:
    from naver_sms.database.dynamo_target import DynamoTarget
    from naver_sms.rule_fixtures import MakeRuntime

#: makes the DynamoDB client of a target (default: boto3's, `make_client`) - the seam of the CLI's tests
DynamoClientFactory = Callable[["DynamoTarget"], Any]


@dataclass
class State:
    repo: FlagRepository
    sessions: SessionRepository
    outbox: OutboxStore
    description: str
    #: the period claims (digests `once_per`, the daily report) and the run log (docs/database.md)
    periods: FlagRepository
    runs: RunLog
    sqlite: SqliteDatabase | None = None


def open_state(settings: Settings, *, dynamo_client: DynamoClientFactory | None = None) -> State:
    """The state backend named by `settings.db` (a URL other than `dynamodb://` is a `ConfigError`)."""
    check_db_target(settings.db)
    if settings.db.startswith("dynamodb://"):
        # boto3 and the DynamoDB adapter are imported only by processes whose state is on DynamoDB
        from naver_sms.database.dynamo_runs import DynamoRunLog, dynamo_periods
        from naver_sms.database.dynamo_target import DynamoTarget
        from naver_sms.database.dynamodb_client import open_dynamodb

        target = DynamoTarget.parse(settings.db)
        client = dynamo_client(target) if dynamo_client is not None else None
        repo, sessions = open_dynamodb(target, max_attempts=settings.max_attempts, client=client)
        outbox = SqliteOutboxStore(
            SqliteDatabase(":memory:")
        )  # the sandbox's outbox lives as long as the process
        periods = dynamo_periods(repo.client, target.session_table, max_attempts=settings.max_attempts)
        runs = DynamoRunLog(repo.client, target.session_table)
        return State(repo, sessions, outbox, f"dynamodb {target.describe()}", periods, runs)
    db = SqliteDatabase(Path(settings.db))
    return State(
        SqliteRepository(db, max_attempts=settings.max_attempts),
        SqliteSessionRepository(db),
        SqliteOutboxStore(db),
        f"sqlite {settings.db}",
        sqlite_periods(db, max_attempts=settings.max_attempts),
        SqliteRunLog(db),
        sqlite=db,
    )


def _is_aws_dynamodb(db: str) -> bool:
    if not is_dynamo_url(db):
        return False
    from naver_sms.database.dynamo_target import DynamoTarget  # boto3: only for a DynamoDB target

    return DynamoTarget.parse(db).endpoint is None


Compiled = tuple[AppConfig, RuleEngine, tuple[CompiledRule, ...]]


def compile_config(config_dir: Path) -> Compiled:
    """Load every configuration file, compile the rules and check every template - all in one pass, so one
    file's errors never hide another's (raises `ConfigErrors` with all of them). The warnings of the rules
    and templates join the loader's in `AppConfig.warnings`."""
    config, errors = read_config(config_dir)
    engine = RuleEngine()
    register_actions(engine)  # the services come with each run's scope (Runtime.scope)
    checked = check_config(config, engine)
    found = [*errors, *checked.errors]
    if not config.broken:  # the daily report renders a sample of the configuration: only a whole one
        try:
            check_daily_report(config)
        except ConfigErrors as exc:
            found += exc.errors
    if found:
        raise ConfigErrors(found)
    return replace(config, warnings=(*config.warnings, *checked.warnings)), engine, checked.rules


def statuses_fetched_on_demand(rules: tuple[CompiledRule, ...]) -> tuple[str, ...]:
    """The statuses fetched only on demand (RC02, RC04) that an enabled rule asks about: none by default."""
    return on_demand(frozenset().union(*(statuses_asked(r.condition) for r in rules if r.enabled)))


def _opt_out(config: AppConfig) -> OptOutList | None:
    """The opt-out list of the configuration (config/opt-out.txt), read again by every run."""
    return FileOptOut(config.opt_out_file) if config.opt_out_file is not None else None


@dataclass(frozen=True)
class Configuration:
    """A configuration compiled for runs, with what identifies it and what the owner must hear about it."""

    config: AppConfig
    engine: RuleEngine
    rules: tuple[CompiledRule, ...]
    version: str | None = None
    notices: tuple[str, ...] = ()
    invalid: str | None = None  # the refused configuration's error, when the last valid one is used


@lru_cache(maxsize=4)
def _s3_source(url: str, region: str, endpoint: str | None, cache: Path) -> ConfigSource[Compiled]:
    """One S3 configuration source per process and location (it remembers the version it validated)."""
    return ConfigSource(S3Location.parse(url), s3_client(region, endpoint), cache, compile_config)


def load_configuration(settings: Settings) -> Configuration:
    """The configuration of `settings`: a local directory as it is, or the S3 location's - validated, or
    the last valid one with a notice (naver_sms.config_source). Raises `ConfigError`."""
    if settings.config_url is None:
        compiled = compile_config(settings.config_dir)
        return Configuration(*compiled, version=local_version(settings.config_dir))
    source = _s3_source(
        settings.config_url, settings.aws_region, settings.s3_endpoint, settings.config_cache_dir
    )
    resolved = source.resolve()
    return Configuration(
        *resolved.value, version=resolved.version, notices=resolved.notices, invalid=resolved.invalid
    )


def _live_services(
    settings: Settings, state: State, real_clock: Clock, refresh: Callable[[], Settings] | None
) -> ActionServicesBundle:
    # httpx and the channel clients are imported only by live runs: the sandbox never needs them
    from naver_sms.notifications.slack_service import SlackWebhookClient
    from naver_sms.notifications.sms_service import SensClient
    from naver_sms.notifications.telegram_service import TelegramClient

    def sens(current: Settings) -> SmsService:
        return SensClient.from_settings(current, clock=real_clock)

    # each client refuses missing credentials itself, naming the NAVER_SMS_* variables (ConfigError)
    sms: SmsService = sens(settings)
    telegram: TelegramService = TelegramClient.from_settings(settings)
    if refresh is not None:  # credentials that rotate: fetched again once when a service refuses them
        sms = RefreshingSms(sms, build=sens, refresh=refresh)
        if telegram.enabled:
            telegram = RefreshingTelegram(telegram, build=TelegramClient.from_settings, refresh=refresh)
    return ActionServicesBundle(
        db_repo=state.repo,
        sms_service=sms,
        telegram_service=telegram,
        slack_service=SlackWebhookClient.from_settings(settings),
        periods=state.periods,
    )


def _sandbox_services(
    repo: FlagRepository,
    outbox: OutboxStore,
    run_id: str,
    real: Clock,
    *,
    telegram: bool,
    slack: bool,
    periods: FlagRepository | None = None,
) -> ActionServicesBundle:
    """Every SMS and message to the outbox (Telegram and Slack on as given)."""
    return ActionServicesBundle(
        db_repo=repo,
        sms_service=OutboxSmsService(outbox, run_id=run_id, clock=real),
        telegram_service=OutboxTelegram(outbox, run_id=run_id, enabled=telegram, clock=real),
        slack_service=OutboxSlack(outbox, run_id=run_id, enabled=slack, clock=real),
        periods=periods,
    )


def build_runtime(
    settings: Settings,
    *,
    clock: Clock,
    run_id: str,
    state: State | None = None,
    progress: Callable[[str, str], None] | None = None,
    dry_run: bool = False,
    real_clock: Clock | None = None,
    dynamo_client: DynamoClientFactory | None = None,
    refresh_settings: Callable[[], Settings] | None = None,
) -> tuple[Runtime, State]:
    """The runtime of `settings` (reusing `state` if given): `clock` decides, `real_clock` (default: the
    system clock) times claims, leases, look-ups and what is written. `refresh_settings`
    loads the settings again with the secrets fetched anew (a live channel refused calls it once)."""
    if not settings.live and not dry_run and _is_aws_dynamodb(settings.db):
        # the sandbox writes its SMS to the outbox and then marks them sent: on the production tables that
        # would silently swallow real customers' messages
        raise ConfigError(
            "a sandbox run against DynamoDB on AWS would mark SMS as sent without sending them: "
            "use --live to send, --dry-run to rehearse, or a local endpoint (?endpoint=URL)",
            file="settings",
            field="db",
        )
    configuration = load_configuration(settings)
    config, engine, rules = configuration.config, configuration.engine, configuration.rules
    state = state or open_state(settings, dynamo_client=dynamo_client)
    real = real_clock or SystemClock()
    if settings.live:
        services = _live_services(settings, state, real, refresh_settings)
    else:
        services = _sandbox_services(
            state.repo,
            state.outbox,
            run_id,
            real,
            telegram=settings.telegram_enabled,
            slack=settings.slack_enabled,
            periods=state.periods,
        )
    services = replace(services, opt_out=_opt_out(config))
    source: BookingSource
    if settings.bookings_path is not None:
        source = JsonFileSource(settings.bookings_path)
    else:
        # httpx and selenium are imported only when the bookings come from Naver itself
        from naver_sms.naver.live import NaverBookingSource

        if settings.naver_id is None or settings.naver_password is None:
            raise ConfigError(
                "no booking source: give --bookings PATH (sandbox) or Naver credentials",
                file="settings",
                field="bookings_path",
            )
        source = NaverBookingSource.from_settings(
            settings, state.sessions, changes=statuses_fetched_on_demand(rules)
        )
    runtime = Runtime(
        config=config,
        engine=engine,
        rules=rules,
        source=source,
        services=services,
        clock=clock,
        real_clock=real,
        mode="live" if settings.live else "sandbox",
        lease=timedelta(seconds=settings.claim_lease_seconds),
        workers=settings.send_concurrency,
        send_timeout=timedelta(seconds=settings.send_timeout_seconds),
        deadline_margin=timedelta(seconds=settings.deadline_margin_seconds),
        run_deadline=(
            timedelta(seconds=settings.run_deadline_seconds) if settings.run_deadline_seconds else None
        ),
        summary_channel=services.telegram_service,
        config_version=configuration.version,
        notices=configuration.notices,
        config_invalid=configuration.invalid,
    )
    if progress is not None:
        runtime.progress = progress
    runtime.after_run = AfterRun(state, publisher_for(settings.reports_dir, region=settings.aws_region))
    return runtime, state


def alert_channel(settings: Settings, state: State | None, *, run_id: str) -> TelegramService:
    """The owner's Telegram outside a run (`serve`'s alerts): the Bot API when live, the outbox otherwise
    (of `state`, or of the state of `settings`, or an in-memory one when it cannot be opened). Disabled when
    Telegram is off."""
    if settings.live:
        # httpx and the Telegram client: only a live process alerts through the Bot API
        from naver_sms.notifications.telegram_service import TelegramClient

        return TelegramClient.from_settings(settings)
    if state is None:
        try:
            state = open_state(settings)
        except Exception:  # the state cannot be opened (that may be why): the alert still goes somewhere
            state = None
    outbox = state.outbox if state is not None else SqliteOutboxStore(SqliteDatabase(":memory:"))
    return OutboxTelegram(outbox, run_id=run_id, enabled=settings.telegram_enabled, clock=SystemClock())


def fixture_runtimes(config_dir: Path) -> MakeRuntime:
    """For `rules test`: the configuration compiled once, and a fresh in-memory sandbox per fixture - every
    SMS, Telegram and Slack message (and the run's summary, to Telegram) to its outbox, with the channels on
    as the fixture says (both, unless it turns one off)."""
    config, engine, rules = compile_config(config_dir)

    def make(source: BookingSource, clock: Clock, *, telegram: bool, slack: bool) -> Runtime:
        db = SqliteDatabase(":memory:")
        real = SystemClock()
        repo, outbox = SqliteRepository(db), SqliteOutboxStore(db)
        services = _sandbox_services(
            repo, outbox, "fixture", real, telegram=telegram, slack=slack, periods=sqlite_periods(db)
        )
        services = replace(services, opt_out=_opt_out(config))
        return Runtime(
            config,
            engine,
            rules,
            source,
            services,
            clock,
            "sandbox",
            real_clock=real,
            summary_channel=services.telegram_service,
        )

    return make
