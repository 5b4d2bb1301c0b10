"""Business days: N working days from a moment, skipping weekends and public holidays.

The holidays come from the `holidays` package (a maintained calendar of every
country's and subdivision's public holidays), for the calendar a deployment or a
deadline names: a country code ("US", "DE", "FR") optionally with a subdivision
("US-CA", "DE-BY"). Days are counted in a time zone (an IANA name, "UTC" by
default): a moment is first seen as a local date and time there, the date moves on
by N working days, and the time of day is kept. So "3 business days from Friday
15:00" is Wednesday 15:00 local, or Thursday if Monday to Wednesday holds a holiday.

Saturday and Sunday are the weekend everywhere (the calendar's own weekend days are
not used): a simplification said in docs/protocol.md. Pure: no I/O.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rooms.errors import RoomError

MAX_BUSINESS_DAYS = 250  # about a working year
WEEKEND = frozenset({5, 6})  # Saturday, Sunday (date.weekday())


def calendar_of(name: str) -> tuple[str, str | None]:
    """ "US" -> ("US", None); "us-ca" -> ("US", "CA"); RoomError for a calendar that
    the holidays package does not know."""
    country, _, subdivision = name.strip().upper().partition("-")
    _holidays(country, subdivision or None, date.today().year)  # raises for unknown ones
    return country, subdivision or None


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays  # its tables load on the first deadline counted in business days

    try:
        days = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        raise RoomError(f"no holiday calendar for {country!r}") from None
    except Exception:  # an unknown subdivision: the package raises its own errors
        raise RoomError(f"no holiday calendar for {country}-{subdivision}") from None
    return frozenset(days)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoomError(f"{name!r} is not a time zone") from None


def is_business_day(day: date, calendar: str) -> bool:
    country, subdivision = calendar_of(calendar)
    return day.weekday() not in WEEKEND and day not in _holidays(country, subdivision, day.year)


def add_business_days(start: datetime, days: int, calendar: str, tz: str = "UTC") -> datetime:
    """The moment `days` business days after `start` (aware), same local time of day in
    `tz`, as UTC. Holidays and weekends are skipped; `start`'s own day need not be one."""
    if not 1 <= days <= MAX_BUSINESS_DAYS:
        raise RoomError(f"business days are counted from 1 to {MAX_BUSINESS_DAYS}")
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    local = start.astimezone(zone(tz))
    day, left = local.date(), days
    while left:
        day += timedelta(days=1)
        if is_business_day(day, calendar):
            left -= 1
    moved = datetime.combine(day, local.timetz().replace(tzinfo=None), local.tzinfo)
    return moved.astimezone(UTC)
