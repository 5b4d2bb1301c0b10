"""Routing rooms to moderators by language, tier and skill (pure: no I/O).

A room carries a language (a BCP 47 primary subtag, "de") and a few skills
("payments"); a moderator's profile carries the languages they speak, their
skills and the highest tier they handle. For one moderator, the queue puts the
rooms they can take first, in this order of importance:

1. the moderator speaks the room's language;
2. the room's tier is at most the moderator's;
3. the moderator has the room's skills (fewest missing first, then most shared);
4. the queue's own order (priority, then how long a party has waited).

A room "matches" when 1 and 2 hold and no skill is missing. Each room gets the
reasons, met and missed, in that order, so a console can show why.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

MAX_SKILLS = 8
MAX_LANGUAGES = 16
# A skill tag: letters, digits, "-" and "_", kept lowercase; e.g. "payments", "design".
SKILL = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
# What a language may be given as: a BCP 47 tag or a POSIX-style locale ("de-AT", "pt_BR").
LANGUAGE_TAG = r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8})*$"
_TAG = re.compile(LANGUAGE_TAG)


def primary_language(tag: str) -> str | None:
    """The primary subtag of a BCP 47 tag or locale, lowercase ("de-AT" -> "de"); None
    when `tag` is not one."""
    if not _TAG.match(tag):
        return None
    return re.split(r"[_-]", tag, maxsplit=1)[0].lower()


def skills_of(tags: Iterable[str]) -> list[str]:
    """Skill tags lowercased, each once, in the order first given."""
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


@dataclass(frozen=True)
class Profile:
    """A moderator's: what they speak, what they know, the highest tier they handle."""

    user: str
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    tier: int


@dataclass(frozen=True)
class Need:
    """What a room asks of its moderator."""

    language: str
    tier: int
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Fit:
    """How a room fits one moderator: `match` when they can take it; the reasons, met
    and missed ("speaks de", "tier 2 > 1", "lacks skill payments")."""

    match: bool
    reasons: tuple[str, ...]
    key: tuple[int, ...]  # sorts the best fit first

    def json(self) -> dict[str, object]:
        return {"match": self.match, "reasons": list(self.reasons)}


def fit(profile: Profile, need: Need) -> Fit:
    speaks = need.language in profile.languages
    tier_fits = need.tier <= profile.tier
    shared = [s for s in need.skills if s in profile.skills]
    missing = [s for s in need.skills if s not in profile.skills]
    reasons = [
        f"speaks {need.language}" if speaks else f"does not speak {need.language}",
        f"tier {need.tier} ≤ {profile.tier}" if tier_fits else f"tier {need.tier} > {profile.tier}",
        *(f"skill {s}" for s in shared),
        *(f"lacks skill {s}" for s in missing),
    ]
    key = (0 if speaks else 1, 0 if tier_fits else 1, len(missing), -len(shared))
    return Fit(speaks and tier_fits and not missing, tuple(reasons), key)


T = TypeVar("T")


def order(
    profile: Profile, rooms: Sequence[T], need_of: Callable[[T], Need]
) -> list[tuple[T, Fit]]:
    """`rooms` (in the queue's own order) with their fit, the ones `profile` can take
    first; ties keep the queue's order (the sort is stable)."""
    fitted = [(room, fit(profile, need_of(room))) for room in rooms]
    return sorted(fitted, key=lambda pair: pair[1].key)
