"""How to reach the people of a room while they are away: name, email, locale.

The platform (or the Zendesk trigger) passes them when it opens a room. They
are personal data: kept sealed under the room's data key, destroyed with it,
never logged, never in an outbox row (the mail destination opens them when it
sends), and names show in the web app instead of user ids.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from msgspec import Meta, Struct, convert, to_builtins

UserId = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")]
# An address as a mail client would take it; the mail server is the final judge.
Email = Annotated[
    str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
]
Locale = Annotated[str, Meta(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}([_-]\w{1,8})*$")]
MAX_CONTACTS = 20
# The store's reader of a room's contacts (opened, as stored): `TranscriptStore.contacts`.
ContactsOf = Callable[[str], Awaitable[list[dict[str, Any]]]]


class Contact(Struct, forbid_unknown_fields=True, omit_defaults=True):
    user: UserId
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    email: Email | None = None
    locale: Locale = "en"


Contacts = Annotated[list[Contact], Meta(max_length=MAX_CONTACTS)]


def stored(contacts: list[Contact]) -> list[dict[str, Any]]:
    """As sealed on the room's row (the last entry for a user wins)."""
    by_user = {c.user: c for c in contacts}
    return [to_builtins(c) for c in by_user.values()]


def read(stored: list[dict[str, Any]]) -> dict[str, Contact]:
    """The room's contacts by user id."""
    return {c.user: c for c in convert(stored, list[Contact])}


def names(stored: list[dict[str, Any]]) -> dict[str, str]:
    """Display names by user id, for those who have one: names only, never emails or locales."""
    return {user: c.name for user, c in read(stored).items() if c.name}


def own_locale(stored: list[dict[str, Any]], user: str) -> str | None:
    """The locale the platform gave for `user`, or None: none given (the default `en` is
    stored as none, so it reads as none too) or no contact for them."""
    contact = read(stored).get(user)
    if contact is None or "locale" not in to_builtins(contact):
        return None
    return contact.locale
