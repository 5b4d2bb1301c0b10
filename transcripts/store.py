"""The transcript store: one handle on its parts, for the many callers that need
several of them. Each part owns one job:

- `room_directory`: rooms' rows, created, found and listed (queue, due, reports);
- `append_transaction`: a batch of drafts numbered, sealed, chained, in one commit;
- `record_reads`: stored records read back, opened or sealed;
- `key_cache`: rooms' data keys, the keyring's refresh, the sealed facts' seals.

What passes between them (drafts, records, room rows, the rules' protocol) is in
`store_types`.
"""

from collections.abc import Callable

from transcripts.append_transaction import Appender
from transcripts.database import Database
from transcripts.envelope import RoomCipher
from transcripts.key_cache import KeyCache
from transcripts.key_encryption_keys import Keyring
from transcripts.record_reads import RecordReads
from transcripts.room_directory import RoomDirectory
from transcripts.store_types import Rules


class TranscriptStore:
    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        reload: Callable[[], Keyring] | None = None,
        rules: Rules | None = None,
    ) -> None:
        self.db = db
        self.keys = KeyCache(db, keyring, reload)
        self.directory = RoomDirectory(db, self.keys, rules)
        self.reads = RecordReads(db, self.keys)
        self.appends = Appender(db, self.keys, rules)
        # The call sites' names, each bound to the part that owns it.
        self.create_room = self.directory.create_room
        self.set_state = self.directory.set_state
        self.room = self.directory.room
        self.open_room_for_ticket = self.directory.open_room_for_ticket
        self.rooms_for_ticket = self.directory.rooms_for_ticket
        self.queue = self.directory.queue
        self.rooms_due = self.directory.rooms_due
        self.rooms_between = self.directory.rooms_between
        self.heads = self.directory.heads
        self.contacts = self.directory.contacts
        self.tip = self.directory.tip
        self.read = self.reads.read
        self.rows_by_position = self.reads.rows_by_position
        self.append_batch = self.appends.append_batch
        self.reachable = self.appends.reachable
        self.unseal = self.keys.unseal
        self.refresh_keyring = self.keys.refresh_keyring

    async def room_cipher(self, room_id: str) -> RoomCipher:
        """The room's data key, for what is sealed beside its records (files). Raises
        Shredded once the key is destroyed."""
        return await self.keys.cipher(room_id)
