"""Scenario `export`: export and verify of one large room (issue 5).

    python -m bench export [--messages 100000] [--baseline 10000]
                                     [--postgres URL] [--heap]

For each size (`--baseline` first, then `--messages`) and each backend
(SQLite in a temporary directory; with `--postgres`, also a PostgreSQL
database the bench creates on that server and drops afterwards), a fresh
database is migrated, one room is opened and filled through
`TranscriptStore.append_batch` in batches of 500: bodies of 100-300 bytes,
half in `joint`, a fifth in each caucus, a tenth in `notes`, each written by
a role that may write there. Then two fresh subprocesses
(`python -m bench.export --phase ...`) each do one thing:

- `export`: `export_bundle` (prove the chain, then stream the bundle) into
  a file in the temporary directory;
- `verify`: `transcripts.verify.verify` over that file, read line by line,
  against the signing public key (PEM). A bundle that does not verify, or
  holds another number of records, fails the run.

Each reports its wall time, its resident memory before the work (VmRSS,
after imports and setup) and its peak (VmHWM, the high-water mark of the
process's own memory). `ru_maxrss` is not used: Linux carries the parent's
high-water mark into a child over fork and exec, so a child of the filled
bench would report the bench's size. With `--heap` each phase runs a second
time under `tracemalloc` for its Python heap peak (that run is not timed).

The baseline size is there to show that memory does not grow with the room:
the last line compares the peaks of the two sizes, measured in the same run.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loop import run_async
from mediation.migrate import upgrade
from rooms.lifecycle import State
from rooms.ports import Draft
from rooms.visibility import CAUCUS_CLIENT, CAUCUS_FREELANCER, JOINT, NOTES, Role
from transcripts.database import Database
from transcripts.errors import TranscriptError
from transcripts.export import export_bundle
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.signing import SigningKeys, load_public_pem, new_signing_seed, public_pem
from transcripts.store import TranscriptStore
from transcripts.verify import verify

HELP = "export and verify of one large room: seconds and peak memory"
BATCH = 500  # drafts per append_batch, as a full group commit
KEK_ENV, SEED_ENV = "MEDIATION_BENCH_KEK", "MEDIATION_BENCH_SIGNING_SEED"
KEK_ID, SIGNING_ID = "bench-kek", "bench-signing"
USERS = {Role.CLIENT: "client-1", Role.FREELANCER: "freelancer-1", Role.MODERATOR: "moderator-1"}
MIX: tuple[tuple[str, Role, int], ...] = (  # channel, writer, weight (of 100)
    (JOINT, Role.CLIENT, 20),
    (JOINT, Role.FREELANCER, 20),
    (JOINT, Role.MODERATOR, 10),
    (CAUCUS_CLIENT, Role.CLIENT, 14),
    (CAUCUS_CLIENT, Role.MODERATOR, 6),
    (CAUCUS_FREELANCER, Role.FREELANCER, 14),
    (CAUCUS_FREELANCER, Role.MODERATOR, 6),
    (NOTES, Role.MODERATOR, 10),
)
SCRIPT = (  # the words of the bodies
    "the milestone was delivered on friday but the client says the login page still fails "
    "on mobile and the invoice covers work that was never agreed in the original scope so "
    "we would like a partial refund while the freelancer points to the change requests in "
    "the ticket history and asks for the remaining payment before any further revision "
    "can we agree on a deadline for the fix and a split of the disputed amount please "
    "attach the screenshots the contract and the last build I will review them tomorrow"
)
WORDS = tuple(SCRIPT.split())
ACCENTS = ("déjà", "naïve", "€120", "“final”", "Zürich", '"as agreed"', "ok\tthen")
MIB = 1024 * 1024


# The phases, each in a fresh subprocess ------------------------------------


def status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def keys_from_env() -> tuple[Keyring, SigningKeys]:
    kek, seed = bytes.fromhex(os.environ[KEK_ENV]), bytes.fromhex(os.environ[SEED_ENV])
    return Keyring({KEK_ID: kek}, KEK_ID), SigningKeys({SIGNING_ID: seed}, SIGNING_ID)


async def export_phase(database_url: str, room_id: str, bundle: Path, heap: bool) -> dict[str, Any]:
    keyring, signing = keys_from_env()
    db = Database(database_url)
    try:
        base = status_kib("VmRSS")
        if heap:
            tracemalloc.start()
        start = time.perf_counter()
        lines = await export_bundle(TranscriptStore(db, keyring), signing, room_id)
        proven = time.perf_counter()
        with bundle.open("wb") as out:
            async for chunk in lines:
                out.write(chunk)
        end = time.perf_counter()
        heap_peak = tracemalloc.get_traced_memory()[1] if heap else 0
    finally:
        await db.close()
    return {
        "seconds": end - start,
        "prove_seconds": proven - start,
        "base_kib": base,
        "peak_kib": status_kib("VmHWM"),
        "heap_peak": heap_peak,
    }


def verify_phase(bundle: Path, public_key: Path, heap: bool) -> dict[str, Any]:
    key = load_public_pem(public_key.read_bytes())
    base = status_kib("VmRSS")
    if heap:
        tracemalloc.start()
    start = time.perf_counter()
    with bundle.open("rb") as lines:
        verdict = verify(lines, key)
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "ok": verdict.ok,
        "reason": verdict.reason,
        "records": verdict.records,
        "base_kib": base,
        "peak_kib": status_kib("VmHWM"),
        "heap_peak": tracemalloc.get_traced_memory()[1] if heap else 0,
    }


def phase_main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.export --phase ...`: one phase, its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.export")
    parser.add_argument("--phase", choices=("export", "verify"), required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--room", default="")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--public-key", type=Path)
    parser.add_argument("--heap", action="store_true", help="trace the Python heap too")
    args = parser.parse_args(argv)
    if args.phase == "export":
        figures = run_async(export_phase(args.database_url, args.room, args.bundle, args.heap))
    else:
        figures = verify_phase(args.bundle, args.public_key, args.heap)
    print(json.dumps(figures))


# The room: a fresh database, filled -----------------------------------------


def body(rng: random.Random) -> str:
    """A message of 100-300 bytes; one in eight has non-ASCII or escaped characters."""
    target = rng.randint(100, 300)
    words: list[str] = []
    size = -1
    while size < target:
        word = rng.choice(ACCENTS) if rng.random() < 0.015 else rng.choice(WORDS)
        words.append(word)
        size += len(word.encode()) + 1
    text = " ".join(words).encode()[:target].decode(errors="ignore").rstrip()
    return text[:1].upper() + text[1:-1] + "."


def drafts(rng: random.Random, room_id: str, first: int, count: int) -> list[Draft]:
    picks = rng.choices(MIX, weights=[w for _, _, w in MIX], k=count)
    return [
        Draft(
            room_id=room_id,
            channel=channel,
            sender_user=USERS[role],
            sender_role=role.value,
            client_id=f"m{first + i}",
            body=body(rng),
            origin="bench",
        )
        for i, (channel, role, _) in enumerate(picks)
    ]


async def fill(
    database_url: str, migrate: bool, keyring: Keyring, room_id: str, messages: int
) -> list[float]:
    """Open the room and append `messages`; the seconds each append_batch took."""
    db = Database(database_url)
    try:
        if migrate:
            await upgrade(db)
        store = TranscriptStore(db, keyring)
        await store.create_room(
            room_id,
            "local",
            "bench-" + room_id,
            USERS[Role.CLIENT],
            USERS[Role.FREELANCER],
            State.MEDIATING,
        )
        rng, seconds = random.Random(messages), []
        for first in range(0, messages, BATCH):
            batch = drafts(rng, room_id, first, min(BATCH, messages - first))
            start = time.perf_counter()
            results, stored = await store.append_batch(batch)
            seconds.append(time.perf_counter() - start)
            if len(stored) != len(batch):
                refused = next((r for r in results if isinstance(r, TranscriptError)), None)
                raise RuntimeError(f"append_batch stored {len(stored)} of {len(batch)}: {refused}")
        return seconds
    finally:
        await db.close()


@contextmanager
def database(backend: str, tmp: Path, admin_url: str) -> Iterator[tuple[str, bool]]:
    """A fresh database (its URL, and whether it still needs migrating); removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}", True  # the temp dir goes with it
        return
    from bench.stores import postgres_database  # redis and asyncpg: parent only

    with postgres_database(admin_url) as url:  # created, migrated, dropped
        yield url, False


# The run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    seconds: float
    base_mib: float
    peak_mib: float
    heap_mib: float | None  # with --heap

    @property
    def delta_mib(self) -> float:
        return self.peak_mib - self.base_mib


@dataclass(frozen=True)
class Row:
    backend: str
    messages: int
    fill_seconds: float  # in append_batch
    tail_rate: float  # msg/s over the last tenth of the batches
    prove_seconds: float
    export: Phase
    bundle_bytes: int
    verify: Phase


def phase_timeout(messages: int) -> float:
    return 60.0 + messages * 5e-3  # 5 ms a record: ~50x what a phase takes here


def run_phase(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 (our own module, arguments built here)
        [sys.executable, "-m", "bench.export", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {args} failed ({done.returncode}):\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(args: list[str], env: dict[str, str], timeout: float, heap: bool) -> dict[str, Any]:
    """One untraced run of a phase (time, RSS); with `heap`, a traced one for the heap peak."""
    figures = run_phase(args, env, timeout)
    if heap:
        figures["heap_peak"] = run_phase([*args, "--heap"], env, timeout * 4)["heap_peak"]
    else:
        figures["heap_peak"] = None
    return figures


def phase_of(figures: dict[str, Any]) -> Phase:
    heap = figures["heap_peak"]
    return Phase(
        figures["seconds"],
        figures["base_kib"] / 1024,
        figures["peak_kib"] / 1024,
        None if heap is None else heap / MIB,
    )


def run_one(backend: str, messages: int, options: argparse.Namespace) -> Row:
    keyring = Keyring({KEK_ID: new_key()}, KEK_ID)
    signing = SigningKeys({SIGNING_ID: new_signing_seed()}, SIGNING_ID)
    env = {
        **os.environ,
        KEK_ENV: keyring.keks[KEK_ID].hex(),
        SEED_ENV: signing.seeds[SIGNING_ID].hex(),
    }
    timeout = phase_timeout(messages)
    room_id = "r_bench_" + secrets.token_hex(4)
    with (
        tempfile.TemporaryDirectory(prefix="mediation-bench-export-") as tmp_name,
        database(backend, Path(tmp_name), options.postgres) as (url, migrate),
    ):
        tmp = Path(tmp_name)
        batches = run_async(
            asyncio.wait_for(fill(url, migrate, keyring, room_id, messages), timeout)
        )
        bundle, public_key = tmp / "room.jsonl", tmp / "signing.pem"
        public_key.write_text(public_pem(signing.public()[SIGNING_ID]))
        where = ["--database-url", url, "--room", room_id, "--bundle", str(bundle)]
        exported = measure(["--phase", "export", *where], env, timeout, options.heap)
        verified = measure(
            ["--phase", "verify", "--bundle", str(bundle), "--public-key", str(public_key)],
            env,
            timeout,
            options.heap,
        )
        if not verified["ok"] or verified["records"] != messages:
            raise SystemExit(
                f"{backend}, {messages:,} messages: the bundle does not verify: "
                f"{verified['reason']} ({verified['records']:,} records)"
            )
        tail = batches[-max(1, len(batches) // 10) :]
        tail_messages = messages - BATCH * (len(batches) - len(tail))
        return Row(
            backend,
            messages,
            sum(batches),
            tail_messages / sum(tail),
            exported["prove_seconds"],
            phase_of(exported),
            bundle.stat().st_size,
            phase_of(verified),
        )


COLUMNS: tuple[tuple[str, Any], ...] = (  # header, cell of a Row
    ("backend", lambda r: r.backend),
    ("N", lambda r: f"{r.messages:,}"),
    ("fill msg/s", lambda r: f"{r.messages / r.fill_seconds:,.0f}"),
    ("last 10% msg/s", lambda r: f"{r.tail_rate:,.0f}"),
    ("export s", lambda r: f"{r.export.seconds:.2f}"),
    ("of which prove s", lambda r: f"{r.prove_seconds:.2f}"),
    ("export rec/s", lambda r: f"{r.messages / r.export.seconds:,.0f}"),
    ("export MB/s", lambda r: f"{r.bundle_bytes / MIB / r.export.seconds:.1f}"),
    ("export RSS base MiB", lambda r: f"{r.export.base_mib:.1f}"),
    ("export RSS peak MiB", lambda r: f"{r.export.peak_mib:.1f}"),
    ("export +MiB", lambda r: f"{r.export.delta_mib:+.1f}"),
    ("export heap MiB", lambda r: heap_cell(r.export)),
    ("bundle MiB", lambda r: f"{r.bundle_bytes / MIB:.1f}"),
    ("verify s", lambda r: f"{r.verify.seconds:.2f}"),
    ("verify rec/s", lambda r: f"{r.messages / r.verify.seconds:,.0f}"),
    ("verify RSS base MiB", lambda r: f"{r.verify.base_mib:.1f}"),
    ("verify RSS peak MiB", lambda r: f"{r.verify.peak_mib:.1f}"),
    ("verify +MiB", lambda r: f"{r.verify.delta_mib:+.1f}"),
    ("verify heap MiB", lambda r: heap_cell(r.verify)),
)


def heap_cell(phase: Phase) -> str:
    return "-" if phase.heap_mib is None else f"{phase.heap_mib:.2f}"


def table(rows: Sequence[Row], heap: bool) -> str:
    columns = [c for c in COLUMNS if heap or "heap" not in c[0]]
    cells = [[name for name, _ in columns], *([cell(r) for _, cell in columns] for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def ratios(rows: Sequence[Row], baseline: int, messages: int) -> list[str]:
    """Per backend: large / baseline, for time (should be ~N) and memory (should be ~1)."""
    lines = []
    for backend in dict.fromkeys(r.backend for r in rows):
        by_size = {r.messages: r for r in rows if r.backend == backend}
        small, large = by_size.get(baseline), by_size.get(messages)
        if small is None or large is None or small is large:
            continue
        figures = [
            f"N x{large.messages / small.messages:.0f}",
            f"export s x{large.export.seconds / small.export.seconds:.1f}",
            f"verify s x{large.verify.seconds / small.verify.seconds:.1f}",
            f"export peak RSS x{large.export.peak_mib / small.export.peak_mib:.2f}",
            f"verify peak RSS x{large.verify.peak_mib / small.verify.peak_mib:.2f}",
        ]
        if large.export.heap_mib and small.export.heap_mib:
            figures.append(f"export heap x{large.export.heap_mib / small.export.heap_mib:.2f}")
        if large.verify.heap_mib and small.verify.heap_mib:
            figures.append(f"verify heap x{large.verify.heap_mib / small.verify.heap_mib:.2f}")
        lines.append(f"{backend} {messages:,} / {baseline:,}: " + ", ".join(figures))
    return lines


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench export", description=HELP)
    parser.add_argument("--messages", type=int, default=100_000, help="records in the room")
    parser.add_argument(
        "--baseline", type=int, default=10_000, help="a smaller room, run first (0: none)"
    )
    parser.add_argument(
        "--postgres",
        default="",
        metavar="URL",
        help="admin URL (e.g. postgresql://postgres@127.0.0.1:5432/test): also run on "
        "PostgreSQL, in a database the bench creates and drops",
    )
    parser.add_argument(
        "--heap", action="store_true", help="rerun each phase under tracemalloc (Python heap)"
    )
    return parser


def main(argv: Sequence[str]) -> None:
    options = parser().parse_args(argv)
    sizes = [n for n in dict.fromkeys((options.baseline, options.messages)) if n > 0]
    backends = ["sqlite", "postgresql"] if options.postgres else ["sqlite"]
    rows = []
    for messages in sizes:
        for backend in backends:
            rows.append(run_one(backend, messages, options))
            print(f"done: {backend}, {messages:,} messages", file=sys.stderr, flush=True)
    print(f"one room, batches of {BATCH}, bodies 100-300 B; export and verify in fresh processes")
    print(table(rows, options.heap))
    for line in ratios(rows, options.baseline, options.messages):
        print(line)


if __name__ == "__main__":
    phase_main()
