"""In-order delivery per channel, whatever order records arrive in.

Records reach a node from its own commits and from other nodes (through
the broker), and the two can cross: seq 7 committed here may arrive before
seq 6 committed elsewhere, and a broker may lose a message outright. The
gate lets a record through only when every lower seq of its channel has
gone through, drops what already went, and names the gaps to fetch from
the database, which is always the truth.
"""

from dataclasses import dataclass, field

from rooms.ports import StoredMessage


@dataclass
class InOrder:
    delivered: dict[str, int]  # per channel, the highest seq let through
    waiting: dict[str, dict[int, StoredMessage]] = field(default_factory=dict)

    def offer(self, record: StoredMessage) -> list[StoredMessage]:
        """The records that may now be delivered, in order (possibly none)."""
        channel = record.channel
        if record.seq <= self.delivered.get(channel, 0):
            return []  # already delivered: a duplicate
        held = self.waiting.setdefault(channel, {})
        held[record.seq] = record
        ready = []
        next_seq = self.delivered.get(channel, 0) + 1
        while next_seq in held:
            ready.append(held.pop(next_seq))
            next_seq += 1
        self.delivered[channel] = next_seq - 1
        if not held:
            del self.waiting[channel]
        return ready

    def gaps(self) -> dict[str, tuple[int, int]]:
        """Per channel with records waiting: the seqs missing, as (after, upto]."""
        return {
            channel: (self.delivered.get(channel, 0), min(held) - 1)
            for channel, held in self.waiting.items()
        }
