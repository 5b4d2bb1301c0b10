"""SLA policies stored, and cached in memory for the commit path.

`PolicyStore` reads and writes the rows; `Policies` holds them in memory and
answers `targets_for(priority)` (a room's clock targets) without I/O: the
workflow calls it on every due computation inside the commit. `refresh`
re-reads the table and says which priorities' targets changed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from mediation.sla.schema import sla_policies
from rooms.clocks import Targets
from transcripts.database import Database
from transcripts.store_types import PRIORITIES

MAX_TARGET = 90 * 24 * 3600.0  # seconds: a target beyond 90 days is a typo, not a policy


@dataclass(frozen=True, slots=True)
class Policy:
    priority: str
    targets: Targets
    updated_by: str
    updated_at: datetime


class PolicyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> dict[str, Policy]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(sla_policies))).all()
        return {
            row.priority: Policy(
                row.priority,
                Targets(
                    row.first_response,
                    row.answer,
                    row.reply,
                    proposal_answer_days=row.proposal_answer_days,
                ),
                row.updated_by,
                row.updated_at,
            )
            for row in rows
        }

    async def put(self, priority: str, targets: Targets, by: str) -> bool:
        """Create or replace the priority's policy; True if it was created."""
        values: dict[str, Any] = {
            "first_response": targets.first_response,
            "answer": targets.answer,
            "reply": targets.reply,
            "proposal_answer_days": targets.proposal_answer_days,
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        }
        async with self._db.write() as conn:
            changed = await conn.execute(
                update(sla_policies).where(sla_policies.c.priority == priority).values(values)
            )
            if changed.rowcount:
                return False
            await conn.execute(insert(sla_policies).values(priority=priority, **values))
        return True

    async def delete(self, priority: str) -> bool:
        """Back to the deployment's defaults; False if it had no policy of its own."""
        async with self._db.write() as conn:
            gone = await conn.execute(
                delete(sla_policies).where(sla_policies.c.priority == priority)
            )
        return bool(gone.rowcount)


class Policies:
    """The policies as this process last read them, over the deployment's defaults."""

    def __init__(self, defaults: Targets, store: PolicyStore | None = None) -> None:
        self.defaults = defaults
        self.store = store
        self.rows: dict[str, Policy] = {}

    def targets_for(self, priority: str) -> Targets:
        """A room's clock targets by its ticket priority (on the commit path: no I/O)."""
        found = self.rows.get(priority)
        return self.defaults if found is None else found.targets

    def effective(self) -> dict[str, Targets]:
        return {p: self.targets_for(p) for p in PRIORITIES}

    async def refresh(self) -> list[str]:
        """Re-read the table; the priorities whose targets changed, most urgent first."""
        if self.store is None:
            return []
        before = self.effective()
        self.rows = await self.store.all()
        after = self.effective()
        return [p for p in PRIORITIES if before[p] != after[p]]
