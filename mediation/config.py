"""Settings, twelve-factor style: environment variables with safe embedded defaults.

One declaration holds each setting's type, bounds, description and (when it is not
`MEDIATION_<FIELD>`) its variable's name. `Settings.from_env` converts the environment
through it with msgspec (loaded anyway: it is the wire codec), and
`python -m mediation.config_table` renders docs/operations.md's table from it.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from rooms import business_days
from rooms.clocks import Targets
from rooms.errors import RoomError
from rooms.events import Topic

FILE_TYPES = (  # what the evidence locker accepts by default, by the real type of the bytes
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",  # docx
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",  # xlsx
)
PREFIX = "MEDIATION_"
# Checked by a test, not at each start: building a calendar's table loads the holidays
# package with every country's module (~12 MB resident), which a server that never
# counts a deadline in business days does without. A configured one is checked at start.
DEFAULT_CALENDAR = "US"
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def doc(description: str, *, env: str = "") -> Meta:
    """A setting's description (Markdown, for the docs' table) and, when it is not
    MEDIATION_<FIELD>, the name of its variable."""
    return Meta(description=description, extra={"env": env} if env else None)


Port = Annotated[int, Meta(ge=1, le=65535)]
Count = Annotated[int, Meta(ge=1)]  # sizes, budgets, limits
Zero = Annotated[int, Meta(ge=0)]  # 0 means "none" or "off"
Seconds = Annotated[float, Meta(gt=0)]  # durations, ticks and rates
Wait = Annotated[float, Meta(ge=0)]  # a wait that may be none at all
Names = tuple[str, ...]  # comma-separated in the environment


class SettingsError(ValueError):
    """A variable that does not convert, named with what it takes: one line for an operator."""


@dataclass(frozen=True)
class Settings:
    """Credentials (keys, tokens, secrets, the SMTP URL) stay out of the repr, so out of
    any log line or traceback that shows the settings."""

    data_dir: Annotated[Path, doc("where the embedded database, key file and files live")] = Path(
        ".mediation"
    )
    database_url: Annotated[
        str,
        doc(
            "SQLAlchemy async URL; empty: SQLite, `sqlite+aiosqlite:///<data dir>/mediation.db`;"
            " production: `postgresql+asyncpg://user:pass@host/db`"
        ),
    ] = ""
    redis_url: Annotated[
        str, doc("Redis for fan-out and presence across processes; empty: one process")
    ] = ""
    redis_prefix: Annotated[
        str,
        Meta(min_length=1),
        doc("namespace of every Redis key and channel (deployments may share a Redis)"),
    ] = "mediation"
    redis_heartbeat: Annotated[
        Seconds, doc("seconds between a process's beats in Redis; silent for 3: gone")
    ] = 5.0
    key_file: Annotated[
        Path | None,
        doc("the key file used for any secret not set below; empty: `<data dir>/keys.json`"),
    ] = None
    master_keys: Annotated[
        str,
        doc(
            "key-encryption keys, `id:base64url[,id:base64url...]`, the first active;"
            " empty: from the key file",
            env="MEDIATION_MASTER_KEY",
        ),
    ] = field(default="", repr=False)
    token_secret: Annotated[
        str,
        doc("HMAC secret of room tokens, the same on every node; empty: from the key file"),
    ] = field(default="", repr=False)
    signing_keys: Annotated[
        str,
        doc(
            "Ed25519 transcript signing keys, `id:base64url-seed[,...]`, the first active;"
            " empty: from the key file",
            env="MEDIATION_SIGNING_KEY",
        ),
    ] = field(default="", repr=False)
    api_key: Annotated[
        str, doc("the platform's bearer key for `/api/*`; empty: from the key file")
    ] = field(default="", repr=False)
    public_url: Annotated[
        str,
        doc(
            "the public base URL: join and sign-in links, the socket's own origin;"
            " empty: `http://HOST:PORT`"
        ),
    ] = ""
    host: Annotated[str, doc("the address `mediation serve` listens on")] = "127.0.0.1"
    port: Annotated[Port, doc("the port `mediation serve` listens on", env="PORT")] = 8000
    token_ttl: Annotated[Count, doc("default room-token lifetime, seconds")] = 3600 * 8
    retention_days: Annotated[
        Zero,
        doc(
            "closed rooms older than this many days are crypto-shredded by"
            " `mediation retention apply`; 0: kept"
        ),
    ] = 0
    max_body_bytes: Annotated[Count, doc("largest message body, UTF-8 bytes")] = 16 * 1024
    max_frame_bytes: Annotated[
        Count, doc("a frame over this, whole or in fragments, closes the socket (1009)")
    ] = 1024 * 1024
    send_queue: Annotated[
        Count, doc("frames a slow socket may fall behind before it is cut off (4429)")
    ] = 1024
    hello_timeout: Annotated[Seconds, doc("seconds a new socket has to send `hello`")] = 10.0
    rate_per_second: Annotated[
        Seconds,
        doc("writes per person per room (all their sockets on one process), sustained"),
    ] = 20.0
    rate_burst: Annotated[
        Count, doc("writes per person per room at once; `history` pages spend this budget too")
    ] = 60
    commit_max_batch: Annotated[Count, doc("most messages in one group commit")] = 512
    commit_linger_ms: Annotated[
        Wait,
        doc(
            "milliseconds a small group commit (under 16 messages waiting) waits for company:"
            " under a light load several messages share one transaction and fsync;"
            " 0: batches grow with load alone"
        ),
    ] = 4.0
    first_response_target: Annotated[
        Seconds,
        doc(
            "seconds a room may wait in the queue before it is flagged `unclaimed`"
            " (the default of a priority without an [SLA policy](#sla-policies))"
        ),
    ] = 15 * 60.0
    answer_target: Annotated[
        Seconds,
        doc(
            "seconds a party may wait for the moderator before the moderator is nudged"
            " (the default of a priority without an SLA policy)"
        ),
    ] = 30 * 60.0
    reply_target: Annotated[
        Seconds,
        doc(
            "seconds the moderator waits for a party before that party gets a reminder"
            " (the default of a priority without an SLA policy)"
        ),
    ] = 24 * 3600.0
    clock_tick: Annotated[
        Seconds, doc("how often each process looks for alarms that fell due, seconds")
    ] = 5.0
    rate_max_wait: Annotated[
        Wait,
        doc(
            "seconds the server stops reading a sender over its rate before it refuses"
            " the write (`rate_limited`)"
        ),
    ] = 1.0
    history_page_cost: Annotated[
        Count, doc("a `history` request costs 1 + `limit` / this, in writes")
    ] = 10
    max_connections: Annotated[
        Count, doc("open connections (HTTP and WebSocket) per process; past it: 503")
    ] = 10_000
    max_connections_per_ip: Annotated[
        Count, doc("open sockets per client address per process; past it the upgrade gets 503")
    ] = 100
    max_connections_per_person: Annotated[
        Count, doc("joined sockets per person per room per process; past it `hello` fails (1013)")
    ] = 10
    header_timeout: Annotated[
        Seconds, doc("seconds a client has to send a request's headers; past it: 408, closed")
    ] = 10.0
    token_leeway: Annotated[
        Zero,
        doc("seconds of clock skew tolerated on a token's expiry; sockets close this long after"),
    ] = 30
    ws_compression: Annotated[
        bool,
        doc("permessage-deflate: less bandwidth, ~45 KiB more memory and some CPU per socket"),
    ] = False
    gc_tuning: Annotated[
        bool,
        doc(
            "after startup, freeze the app out of the collector's walks and make full"
            " collections 10 times rarer (`mediation/gc_tuning.py`); off: CPython's defaults"
        ),
    ] = True
    files_max_bytes: Annotated[Count, doc("largest file a participant may attach")] = (
        100 * 1024 * 1024
    )
    files_types: Annotated[
        Names,
        Meta(min_length=1),
        doc(
            "allowed MIME types, as detected from the bytes"
            " ([attachments.md](attachments.md#limits-and-types))"
        ),
    ] = FILE_TYPES
    files_chunk_bytes: Annotated[Count, doc("plaintext bytes per sealed chunk of a file")] = (
        64 * 1024
    )
    files_store: Annotated[
        str, doc("where files are kept: `s3://bucket/prefix`, or empty: `<data dir>/files`")
    ] = ""
    s3_endpoint_url: Annotated[
        str,
        doc(
            "an S3-compatible endpoint (MinIO, Ceph, …); empty: AWS; credentials from"
            " `AWS_ACCESS_KEY_ID`, …"
        ),
    ] = ""
    s3_region: Annotated[str, doc("the S3 region; empty: the AWS SDK's default")] = ""
    s3_part_bytes: Annotated[
        int,
        Meta(ge=5 * 1024 * 1024),
        doc("multipart upload part size: what one upload holds in memory on S3"),
    ] = 8 * 1024 * 1024
    frame_ancestors: Annotated[
        Names,
        doc(
            "host origins allowed to frame the party view and `embed.js`"
            " (`https://market.example`); empty: this origin only ([security](#security))"
        ),
    ] = ()
    allowed_origins: Annotated[
        Names,
        doc("browser origins allowed to open `/ws` besides our own, exact, no wildcards"),
    ] = ()
    auth_failure_burst: Annotated[
        Count,
        doc("failed authentications an address may make at once; past them: 429 for a while"),
    ] = 30
    auth_failure_per_second: Annotated[
        Seconds, doc("failed authentications per second an address then sustains")
    ] = 0.2
    mint_burst: Annotated[
        Count, doc("room and staff tokens the API key may mint at once (a batch of rooms)")
    ] = 10_000
    mint_per_second: Annotated[Seconds, doc("tokens per second the API key then sustains")] = 1000.0
    join_burst: Annotated[
        Count, doc("room tokens one staff member may take with `/join` at once")
    ] = 20
    join_per_second: Annotated[
        Seconds, doc("`/join` tokens per second a staff member then sustains")
    ] = 0.5
    outbox_tick: Annotated[
        Seconds,
        doc(
            "seconds between each process's looks for outbox rows due (a commit that"
            " wrote rows wakes its own process at once)"
        ),
    ] = 1.0
    outbox_retry_initial: Annotated[
        Seconds,
        doc(
            "a failed delivery is retried after a random wait up to `initial * 2^attempts`"
            " (full jitter); never before a `Retry-After`"
        ),
    ] = 1.0
    outbox_retry_max: Annotated[Seconds, doc("the longest wait between two attempts")] = 3600.0
    outbox_max_age: Annotated[
        Seconds, doc("seconds an effect may stay undelivered before it becomes a dead letter")
    ] = 3 * 24 * 3600.0
    outbox_keep_done: Annotated[
        Seconds, doc("seconds a delivered row is kept (listed with status=done) before it goes")
    ] = 7 * 24 * 3600.0
    outbox_lease: Annotated[
        Seconds,
        doc(
            "seconds a process's claim on a row lasts, renewed while its delivery runs:"
            " how long a killed process's rows wait for another"
        ),
    ] = 10.0
    webhook_url: Annotated[
        str, doc("the host platform's endpoint ([webhooks.md](webhooks.md)); empty: no webhooks")
    ] = ""
    webhook_secret: Annotated[str, doc("its `whsec_...` Standard Webhooks signing secret")] = field(
        default="", repr=False
    )
    webhook_topics: Annotated[
        tuple[Topic, ...],
        doc("the events it gets (`settlement.agreed,room.closed`); empty: every event"),
    ] = ()
    webhook_settlement_document: Annotated[
        bool,
        doc(
            "`settlement.agreed` webhooks carry the signed settlement document itself, the"
            " terms' free text included; off: its SHA-256 and where to download it"
        ),
    ] = False
    zendesk_url: Annotated[
        str,
        doc("`https://acme.zendesk.com` ([Connect to Zendesk](#connect-to-zendesk)); empty: off"),
    ] = ""
    zendesk_email: Annotated[
        str, doc("an agent's email, with the API token (basic auth `email/token:…`)")
    ] = ""
    zendesk_api_token: Annotated[str, doc("that agent's API token")] = field(default="", repr=False)
    zendesk_oauth_token: Annotated[str, doc("or an OAuth bearer token instead")] = field(
        default="", repr=False
    )
    zendesk_webhook_secret: Annotated[
        str,
        doc(
            "signing secret of the Zendesk webhook that calls `/api/integrations/zendesk`;"
            " empty: that endpoint is off (404)"
        ),
    ] = field(default="", repr=False)
    zendesk_claim_status: Annotated[
        str, doc("the ticket's status once a moderator claims; empty: unchanged")
    ] = "open"
    zendesk_resolved_status: Annotated[
        str, doc("the ticket's status once the parties settle; empty: unchanged")
    ] = "solved"
    zendesk_tags: Annotated[Names, doc("tags added to the ticket with each note")] = ("mediation",)
    zendesk_timeout: Annotated[Seconds, doc("seconds for one Zendesk API call")] = 10.0
    smtp_url: Annotated[
        str,
        doc(
            "`smtp://user:pass@host:587` (STARTTLS when offered; `?tls=1` requires it),"
            " `smtps://…:465` ([notices.md](notices.md)); empty: no mail"
        ),
    ] = field(default="", repr=False)
    mail_from: Annotated[str, doc("the notices' sender, `Mediation <disputes@example.com>`")] = ""
    notify_after: Annotated[
        Wait, doc("seconds a person is away, with something unread, before a notice")
    ] = 120.0
    notify_every: Annotated[
        Wait, doc("seconds: at most one notice per person per room this often")
    ] = 3600.0
    notice_tick: Annotated[
        Seconds, doc("how often each process looks for people owed a notice, seconds")
    ] = 15.0
    party_url: Annotated[
        str,
        doc("the host's page for a room in notice mail, `{room}` replaced; empty: sign-in links"),
    ] = ""
    sla_editors: Annotated[
        Names,
        doc("moderators who may change SLA policies (`m-lead,m-ops`); empty: the API key only"),
    ] = ()
    arbitration_window: Annotated[
        Seconds,
        doc("seconds the parties have to opt in to arbitration once a mediation failed"),
    ] = 7 * 24 * 3600.0
    arbitration_url: Annotated[
        str,
        doc(
            "where a room going to arbitration sends its signed transcript and files"
            " ([webhooks.md](webhooks.md#arbitration)); empty: an `arbitrator` in the room"
        ),
    ] = ""
    arbitration_secret: Annotated[
        str, doc("its `whsec_...` Standard Webhooks signing secret (required with the URL)")
    ] = field(default="", repr=False)
    deadline_warning: Annotated[
        Wait,
        doc(
            "seconds before a deadline falls due that its party is warned"
            " (record, mail, webhook); 0: never"
        ),
    ] = 24 * 3600.0
    proposal_answer_days: Annotated[
        Annotated[int, Meta(ge=0, le=60)],
        doc(
            "business days a party has to answer the other party's proposal before it"
            " stands as accepted (a deadline the server sets); 0: none. The default of"
            " every priority without an SLA policy of its own"
        ),
    ] = 0
    calendar_country: Annotated[
        str,
        doc(
            "the holiday calendar deadlines in business days count in: a country code,"
            " optionally with a subdivision (`US`, `US-CA`, `DE-BY`)"
        ),
    ] = DEFAULT_CALENDAR
    calendar_timezone: Annotated[
        str, doc("the IANA time zone business days are counted in (`America/New_York`)")
    ] = "UTC"
    reviews_per_week: Annotated[
        Zero,
        doc(
            "resolved rooms of other moderators each reviewer is given to review each ISO"
            " week (peer review, [http.md](http.md#peer-review)); 0: no assignments"
        ),
    ] = 0
    reviewers: Annotated[
        Names,
        doc(
            "the moderators who review each week (`m-ana,m-bo`); empty: every moderator"
            " who resolved a room in the four weeks up to the week's end"
        ),
    ] = ()
    review_admins: Annotated[
        Names, doc("moderators who may change the peer review scorecard; empty: the API key only")
    ] = ()
    review_seed: Annotated[
        str, doc("mixed into the week's draw of review assignments (any text)")
    ] = ""
    side_acceptance: Annotated[
        Literal["any", "decision_maker"],
        doc(
            "who accepts a proposal for a side of several people, in rooms opened from"
            " now on (a room may say otherwise when it opens): `any` member, or only the"
            " side's `decision_maker` ([http.md](http.md#members))"
        ),
    ] = "any"
    room_language: Annotated[
        str,
        doc(
            "a new room's language (BCP 47 primary subtag) when neither the request nor"
            " the first of its people's locales names one; the queue routes by it"
        ),
    ] = "en"

    def __post_init__(self) -> None:
        object.__setattr__(self, "zendesk_url", self.zendesk_url.rstrip("/"))
        try:  # a calendar or zone that cannot be counted in stops the start, not a deadline
            if self.calendar_country != DEFAULT_CALENDAR:  # the default's: a test checks it
                business_days.calendar_of(self.calendar_country)
            business_days.zone(self.calendar_timezone)
        except RoomError as exc:
            raise ValueError(str(exc)) from None
        if not re.fullmatch(r"[a-z]{2,3}", self.room_language):
            raise ValueError(
                f"MEDIATION_ROOM_LANGUAGE={self.room_language!r}: a BCP 47 primary subtag"
                " in lowercase, such as en or de"
            )

    @property
    def targets(self) -> Targets:
        return Targets(
            self.first_response_target,
            self.answer_target,
            self.reply_target,
            arbitration_window=self.arbitration_window,
            proposal_answer_days=self.proposal_answer_days or None,
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'mediation.db'}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "keys.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """Each field from its variable: numbers, switches and paths set empty keep their
        default; lists are comma-separated. Raises SettingsError naming the variable."""
        values: dict[str, Any] = {}
        for spec in FIELDS:
            raw = env.get(variable(spec))
            if raw is not None:
                values[spec.name] = _prepare(_kind(spec), raw)
        values = {name: value for name, value in values.items() if value is not None}
        try:
            return msgspec.convert(values, cls, strict=False, dec_hook=_to_path)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(exc, env)) from None


def _fields() -> tuple[mi.Field, ...]:
    info = mi.type_info(Settings)
    assert isinstance(info, mi.DataclassType)
    return info.fields


FIELDS = _fields()


def variable(spec: mi.Field) -> str:
    """The environment variable a field is read from."""
    extra = spec.type.extra if isinstance(spec.type, mi.Metadata) else None
    return str((extra or {}).get("env") or PREFIX + spec.name.upper())


def description(spec: mi.Field) -> str:
    schema = spec.type.extra_json_schema if isinstance(spec.type, mi.Metadata) else None
    return str((schema or {}).get("description", ""))


def _kind(spec: mi.Field) -> mi.Type:
    """The field's type without its metadata or an optional None."""
    kind = spec.type.type if isinstance(spec.type, mi.Metadata) else spec.type
    if isinstance(kind, mi.UnionType):
        kind = next(t for t in kind.types if not isinstance(t, mi.NoneType))
    return kind


def _prepare(kind: mi.Type, raw: str) -> Any:
    """The variable's text as msgspec's lax conversion takes it; None: use the default."""
    if isinstance(kind, mi.StrType):
        return raw
    if isinstance(kind, mi.VarTupleType):
        return [item.strip() for item in raw.split(",") if item.strip()]
    text = raw.strip()
    if not text:
        return None
    if isinstance(kind, mi.BoolType):
        lowered = text.lower()
        return "true" if lowered in TRUE else "false" if lowered in FALSE else text
    return text


def _to_path(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError


def accepts(spec: mi.Field) -> str:
    """What a field's variable takes, in words: for the docs' table and for errors."""
    kind = _kind(spec)
    if isinstance(kind, mi.IntType | mi.FloatType):
        noun = "integer" if isinstance(kind, mi.IntType) else "number"
        if kind.ge is not None and kind.le is not None:
            return f"{noun} from {kind.ge} to {kind.le}"
        bounds = [f"{op} {v}" for op, v in ((">", kind.gt), ("≥", kind.ge)) if v is not None]
        return " ".join([noun, *bounds])
    if isinstance(kind, mi.BoolType):
        return "switch"
    if isinstance(kind, mi.VarTupleType):
        if isinstance(kind.item_type, mi.LiteralType):  # a list of names from a fixed set
            return "list of " + ", ".join(map(str, kind.item_type.values))
        return "list" if not kind.min_length else f"list of at least {kind.min_length}"
    if isinstance(kind, mi.LiteralType):
        return "one of " + ", ".join(map(str, kind.values))
    if isinstance(kind, mi.CustomType) and kind.cls is Path:
        return "path"
    if isinstance(kind, mi.StrType) and kind.min_length:
        return "non-empty text"
    return "text"


_WHERE = re.compile(r" - at `\$\.(\w+)(\[\d+\])?`$")


def _explain(exc: msgspec.ValidationError, env: Mapping[str, str]) -> str:
    found = _WHERE.search(str(exc))
    spec = next((s for s in FIELDS if found and s.name == found.group(1)), None)
    if spec is None:
        return f"invalid settings: {exc}"
    name = variable(spec)
    shown = f"={env[name]!r}" if _shown(spec.name) else " (value hidden)"
    expected = accepts(spec)
    if expected == "switch":
        expected = "/".join(TRUE) + " or " + "/".join(FALSE)
    elif expected.startswith("list"):
        expected = "a comma-separated " + expected
    elif expected.startswith("one of"):
        pass
    elif expected != "path":
        expected = ("an " if expected.startswith("integer") else "a ") + expected
    return f"{name}{shown}: expected {expected}"


def _shown(name: str) -> bool:
    """Whether a field's value may appear in an error: not if it is kept out of the repr."""
    return Settings.__dataclass_fields__[name].repr
