"""What the workflow's rules cost a commit: `TranscriptStore.append_batch` with them and
without, on the same conversation, alternating, in one process.

Each round appends `--batches` batches; a batch holds `--per-room` messages in
each of `--rooms` rooms (the shape of a group commit under load: many rooms,
few messages each), drawn from the export benchmark's channel mix. The
figure is the process CPU time per stored record (SQLite, synchronous=FULL
in a temporary directory), so the rules' share is the difference.
"""

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.export import USERS, drafts
from bench.loop import run_async
from mediation.migrate import upgrade
from mediation.workflow_rules import StoreRules
from rooms.lifecycle import State
from rooms.visibility import Role
from rooms.workflow import Workflow
from transcripts.database import Database
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.store import TranscriptStore
from transcripts.store_types import Rules

HELP = "the workflow rules' share of a commit: append_batch with and without them"


async def _store(directory: Path, rules: Rules | None, rooms: int) -> TranscriptStore:
    db = Database(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    await upgrade(db)
    store = TranscriptStore(db, Keyring({"k1": new_key()}, "k1"), rules=rules)
    for n in range(rooms):
        await store.create_room(
            f"r{n}", "local", f"T-{n}", USERS[Role.CLIENT], USERS[Role.FREELANCER], State.MEDIATING
        )
    return store


async def _round(
    store: TranscriptStore, rooms: int, per_room: int, batches: int, first: int
) -> float:
    """CPU seconds per stored record for `batches` batches (drafts made beforehand)."""
    rng = random.Random(first)
    made = [
        [d for n in range(rooms) for d in drafts(rng, f"r{n}", (first + b) * per_room, per_room)]
        for b in range(batches)
    ]
    started, stored = time.process_time(), 0
    for batch in made:
        _, fresh = await store.append_batch(batch)
        stored += len(fresh)
    return (time.process_time() - started) / stored


async def compare(rooms: int, per_room: int, batches: int, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as bare_dir, tempfile.TemporaryDirectory() as ruled_dir:
        stores = {
            "no rules": await _store(Path(bare_dir), None, rooms),
            "workflow rules": await _store(Path(ruled_dir), StoreRules(Workflow()), rooms),
        }
        seconds: dict[str, list[float]] = {name: [] for name in stores}
        for r in range(rounds):
            for name, store in stores.items():
                seconds[name].append(await _round(store, rooms, per_room, batches, r * batches))
        for store in stores.values():
            await store.db.close()
    return seconds


def main(argv: Sequence[str]) -> None:
    args = argparse.ArgumentParser(prog="python -m bench rules", description=HELP)
    args.add_argument("--rooms", type=int, default=100)
    args.add_argument("--per-room", type=int, default=2, help="messages per room per batch")
    args.add_argument("--batches", type=int, default=50, help="batches per round")
    args.add_argument("--rounds", type=int, default=3, help="alternating rounds per mode")
    opts = args.parse_args(argv)
    seconds = run_async(compare(opts.rooms, opts.per_room, opts.batches, opts.rounds))
    print(
        f"{opts.rooms} rooms x {opts.per_room} messages per batch, {opts.batches} batches a round"
    )
    print(f"{'mode':<16}" + "".join(f"  round {r + 1} µs/rec" for r in range(opts.rounds)))
    for name, per_round in seconds.items():
        print(f"{name:<16}" + "".join(f"  {s * 1e6:>15.1f}" for s in per_round))
    best = {name: min(per_round) for name, per_round in seconds.items()}
    extra = best["workflow rules"] - best["no rules"]
    ruled, bare = best["workflow rules"], best["no rules"]
    print(
        f"best of each: {ruled * 1e6:.1f} vs {bare * 1e6:.1f} µs/record:"
        f" rules x{ruled / bare:.2f} (+{extra * 1e6:.1f} µs/record)"
    )
