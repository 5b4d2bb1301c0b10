"""Settings, twelve-factor style: environment variables with safe embedded defaults."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rooms.clocks import Targets

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


@dataclass(frozen=True)
class Settings:
    """Credentials (keys, tokens, secrets, the SMTP URL) stay out of the repr, so out of
    any log line or traceback that shows the settings."""

    data_dir: Path = Path(".mediation")
    database_url: str = ""  # default: SQLite in data_dir
    redis_url: str = ""  # empty: one process, in-memory broker
    redis_prefix: str = "mediation"  # namespace of every key and channel in Redis
    redis_heartbeat: float = 5.0  # seconds; a process silent for 3 beats counts as gone
    key_file: Path | None = None  # default: data_dir/keys.json
    # "id:base64,id:base64" (first is active) overrides the key file
    master_keys: str = field(default="", repr=False)
    token_secret: str = field(default="", repr=False)  # overrides the key file
    # "id:base64url-seed,..." (first is active) overrides the key file
    signing_keys: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)  # overrides the key file
    public_url: str = ""  # where join links point; default http://host:port
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl: int = 3600 * 8  # seconds
    retention_days: int = 0  # closed rooms older than this are crypto-shredded; 0: keep
    max_body_bytes: int = 16 * 1024
    max_frame_bytes: int = 1024 * 1024  # beyond this the socket closes with 1009
    send_queue: int = 1024  # frames waiting for a slow client before it is cut off
    hello_timeout: float = 10.0
    rate_per_second: float = 20.0  # writes per person per room (all their sockets), sustained
    rate_burst: int = 60
    commit_max_batch: int = 512
    commit_linger_ms: float = 0.0
    # Response clocks, in seconds: past these, the room is flagged and someone is nudged.
    first_response_target: float = 15 * 60  # a room waits in the queue
    answer_target: float = 30 * 60  # a party waits for the moderator
    reply_target: float = 24 * 3600  # the moderator waits for a party: it gets a reminder
    clock_tick: float = 5.0  # how often the clock scheduler looks for due alarms
    # sockets (issue 12): pacing senders, bounding connections, ending tokens on time
    rate_max_wait: float = 1.0  # seconds a sender over its rate is slowed before a refusal
    history_page_cost: int = 10  # a `history` costs 1 write per this many records asked for
    max_connections: int = 10_000  # open TCP connections of this process (HTTP and sockets)
    max_connections_per_ip: int = 100  # open sockets (/ws) per client address
    max_connections_per_person: int = 10  # joined sockets per person per room
    header_timeout: float = 10.0  # seconds to send a request's headers (slowloris)
    token_leeway: int = 30  # seconds of clock skew tolerated on a token's `exp`
    ws_compression: bool = False  # permessage-deflate: ~45 KiB of zlib state per socket
    gc_tuning: bool = True  # freeze the started app out of GC walks, rarer full GCs

    @property
    def targets(self) -> Targets:
        return Targets(self.first_response_target, self.answer_target, self.reply_target)

    files_max_bytes: int = 100 * 1024 * 1024  # per file
    files_types: tuple[str, ...] = FILE_TYPES  # MIME types, as detected from the bytes
    files_chunk_bytes: int = 64 * 1024  # plaintext per sealed chunk
    files_store: str = ""  # empty: data_dir/files; "s3://bucket/prefix": S3-compatible storage
    s3_endpoint_url: str = ""  # empty: AWS; else e.g. a MinIO or Ceph endpoint
    s3_region: str = ""
    s3_part_bytes: int = 8 * 1024 * 1024  # multipart upload part size (at least 5 MiB)
    # HTTP security (docs/operations.md, "Security"): who may frame or open a socket,
    # and how fast an address may fail to authenticate or a caller may mint tokens.
    frame_ancestors: tuple[str, ...] = ()  # host origins that may frame the party view
    allowed_origins: tuple[str, ...] = ()  # browser origins allowed on /ws, besides our own
    auth_failure_burst: int = 30  # failed authentications an address may make at once
    auth_failure_per_second: float = 0.2  # and then sustained
    mint_burst: int = 10_000  # tokens minted with the API key, at once (a batch of rooms)
    mint_per_second: float = 1000.0  # and then sustained: a busy platform, not a flood
    join_burst: int = 20  # room tokens a staff member mints with /join, at once
    join_per_second: float = 0.5  # and then sustained
    # The outbox and its destinations (issue 14; docs/operations.md, "Integrations").
    # Credentials live here only: never in a log, an error or an outbox row.
    outbox_tick: float = 1.0  # seconds between looks for due rows in each process
    outbox_retry_initial: float = 1.0  # first retry within this many seconds, then doubling
    outbox_retry_max: float = 3600.0  # the longest wait between two attempts
    outbox_max_age: float = 3 * 24 * 3600.0  # undelivered this long: a dead letter
    outbox_lease: float = 10.0  # a claim's life, renewed while its delivery runs
    webhook_url: str = ""  # the host platform's endpoint; empty: no webhooks
    # whsec_...: Standard Webhooks signing secret
    webhook_secret: str = field(default="", repr=False)
    webhook_topics: tuple[str, ...] = ()  # empty: every event
    zendesk_url: str = ""  # https://acme.zendesk.com; empty: no Zendesk
    zendesk_email: str = ""  # with zendesk_api_token: email/token basic auth
    zendesk_api_token: str = field(default="", repr=False)
    zendesk_oauth_token: str = field(default="", repr=False)  # or an OAuth bearer token
    # signs Zendesk's calls to /api/integrations/zendesk
    zendesk_webhook_secret: str = field(default="", repr=False)
    zendesk_claim_status: str = "open"  # the ticket's status once a moderator claims
    zendesk_resolved_status: str = "solved"  # once the parties settle
    zendesk_tags: tuple[str, ...] = ("mediation",)
    # Notice to people who are away: a mail and a `party.waiting` webhook.
    # smtp://user:pass@host:587 (STARTTLS if offered), smtps://; empty: none
    smtp_url: str = field(default="", repr=False)
    mail_from: str = ""  # "Mediation <disputes@example.com>"
    notify_after: float = 120.0  # seconds away, with something unread, before a notice
    notify_every: float = 3600.0  # at most one notice per person per room this often
    notice_tick: float = 15.0  # how often each process looks for people owed a notice
    party_url: str = ""  # the host's page for a room, "{room}" replaced; empty: sign-in links
    zendesk_timeout: float = 10.0  # seconds for one Zendesk API call

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'mediation.db'}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "keys.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        def get(name: str, default: str = "") -> str:
            return env.get(f"MEDIATION_{name}", default)

        defaults = cls()
        key_file = get("KEY_FILE")
        return cls(
            data_dir=Path(get("DATA_DIR", str(defaults.data_dir))),
            database_url=get("DATABASE_URL"),
            redis_url=get("REDIS_URL"),
            redis_prefix=get("REDIS_PREFIX", defaults.redis_prefix),
            redis_heartbeat=float(get("REDIS_HEARTBEAT", str(defaults.redis_heartbeat))),
            key_file=Path(key_file) if key_file else None,
            master_keys=get("MASTER_KEY"),
            token_secret=get("TOKEN_SECRET"),
            signing_keys=get("SIGNING_KEY"),
            api_key=get("API_KEY"),
            public_url=get("PUBLIC_URL"),
            host=get("HOST", defaults.host),
            port=int(env.get("PORT", defaults.port)),
            token_ttl=int(get("TOKEN_TTL", str(defaults.token_ttl))),
            retention_days=int(get("RETENTION_DAYS", str(defaults.retention_days))),
            max_body_bytes=int(get("MAX_BODY_BYTES", str(defaults.max_body_bytes))),
            max_frame_bytes=int(get("MAX_FRAME_BYTES", str(defaults.max_frame_bytes))),
            send_queue=int(get("SEND_QUEUE", str(defaults.send_queue))),
            hello_timeout=float(get("HELLO_TIMEOUT", str(defaults.hello_timeout))),
            rate_per_second=float(get("RATE_PER_SECOND", str(defaults.rate_per_second))),
            rate_burst=int(get("RATE_BURST", str(defaults.rate_burst))),
            commit_max_batch=int(get("COMMIT_MAX_BATCH", str(defaults.commit_max_batch))),
            commit_linger_ms=float(get("COMMIT_LINGER_MS", str(defaults.commit_linger_ms))),
            first_response_target=float(
                get("FIRST_RESPONSE_TARGET", str(defaults.first_response_target))
            ),
            answer_target=float(get("ANSWER_TARGET", str(defaults.answer_target))),
            reply_target=float(get("REPLY_TARGET", str(defaults.reply_target))),
            clock_tick=float(get("CLOCK_TICK", str(defaults.clock_tick))),
            # sockets (issue 12)
            rate_max_wait=float(get("RATE_MAX_WAIT", str(defaults.rate_max_wait))),
            history_page_cost=int(get("HISTORY_PAGE_COST", str(defaults.history_page_cost))),
            max_connections=int(get("MAX_CONNECTIONS", str(defaults.max_connections))),
            max_connections_per_ip=int(
                get("MAX_CONNECTIONS_PER_IP", str(defaults.max_connections_per_ip))
            ),
            max_connections_per_person=int(
                get("MAX_CONNECTIONS_PER_PERSON", str(defaults.max_connections_per_person))
            ),
            header_timeout=float(get("HEADER_TIMEOUT", str(defaults.header_timeout))),
            token_leeway=int(get("TOKEN_LEEWAY", str(defaults.token_leeway))),
            ws_compression=get("WS_COMPRESSION", "0").lower() in ("1", "true", "yes", "on"),
            gc_tuning=get("GC_TUNING", "1").lower() not in ("0", "false", "no", "off"),
            files_max_bytes=int(get("FILES_MAX_BYTES", str(defaults.files_max_bytes))),
            files_types=_list(get("FILES_TYPES")) or defaults.files_types,
            files_chunk_bytes=int(get("FILES_CHUNK_BYTES", str(defaults.files_chunk_bytes))),
            files_store=get("FILES_STORE"),
            s3_endpoint_url=get("S3_ENDPOINT_URL"),
            s3_region=get("S3_REGION"),
            s3_part_bytes=int(get("S3_PART_BYTES", str(defaults.s3_part_bytes))),
            # HTTP security
            frame_ancestors=_list(get("FRAME_ANCESTORS")),
            allowed_origins=_list(get("ALLOWED_ORIGINS")),
            auth_failure_burst=int(get("AUTH_FAILURE_BURST", str(defaults.auth_failure_burst))),
            auth_failure_per_second=float(
                get("AUTH_FAILURE_PER_SECOND", str(defaults.auth_failure_per_second))
            ),
            mint_burst=int(get("MINT_BURST", str(defaults.mint_burst))),
            mint_per_second=float(get("MINT_PER_SECOND", str(defaults.mint_per_second))),
            join_burst=int(get("JOIN_BURST", str(defaults.join_burst))),
            join_per_second=float(get("JOIN_PER_SECOND", str(defaults.join_per_second))),
            # the outbox (issue 14)
            outbox_tick=float(get("OUTBOX_TICK", str(defaults.outbox_tick))),
            outbox_retry_initial=float(
                get("OUTBOX_RETRY_INITIAL", str(defaults.outbox_retry_initial))
            ),
            outbox_retry_max=float(get("OUTBOX_RETRY_MAX", str(defaults.outbox_retry_max))),
            outbox_max_age=float(get("OUTBOX_MAX_AGE", str(defaults.outbox_max_age))),
            outbox_lease=float(get("OUTBOX_LEASE", str(defaults.outbox_lease))),
            webhook_url=get("WEBHOOK_URL"),
            webhook_secret=get("WEBHOOK_SECRET"),
            webhook_topics=_list(get("WEBHOOK_TOPICS")),
            zendesk_url=get("ZENDESK_URL").rstrip("/"),
            zendesk_email=get("ZENDESK_EMAIL"),
            zendesk_api_token=get("ZENDESK_API_TOKEN"),
            zendesk_oauth_token=get("ZENDESK_OAUTH_TOKEN"),
            zendesk_webhook_secret=get("ZENDESK_WEBHOOK_SECRET"),
            zendesk_claim_status=get("ZENDESK_CLAIM_STATUS", defaults.zendesk_claim_status),
            zendesk_resolved_status=get(
                "ZENDESK_RESOLVED_STATUS", defaults.zendesk_resolved_status
            ),
            zendesk_tags=_list(get("ZENDESK_TAGS", ",".join(defaults.zendesk_tags))),
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM"),
            notify_after=float(get("NOTIFY_AFTER", str(defaults.notify_after))),
            notify_every=float(get("NOTIFY_EVERY", str(defaults.notify_every))),
            notice_tick=float(get("NOTICE_TICK", str(defaults.notice_tick))),
            party_url=get("PARTY_URL"),
            zendesk_timeout=float(get("ZENDESK_TIMEOUT", str(defaults.zendesk_timeout))),
        )


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())
