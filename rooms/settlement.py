"""Settlement terms: an amount of money, a currency, and what is agreed.

Amounts travel as decimal strings and are checked against the currency's
minor unit (ISO 4217): "12.50 USD" is fine, "12.505 USD" and "12.5 JPY"
are not, so nobody ever agrees to a sum that cannot be paid.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal

from rooms.errors import RoomError
from rooms.records import ProposalBody, ResponseBody, Terms, encode

MAX_AMOUNT = 10**12
DECIMAL = re.compile(r"[0-9]{1,13}(\.[0-9]{1,4})?")  # no sign, no exponent, no spaces
MAX_EXPIRY_MINUTES = 30 * 24 * 60
ANSWERS = ("accept", "reject")


def terms(amount: str, currency: str, text: str = "", milestone: str | None = None) -> Terms:
    """Validated terms, with the amount written to the currency's exact minor unit."""
    from iso4217 import Currency  # its table is ~1.3 MiB resident: loaded by the first proposal

    code = currency.strip().upper()
    try:
        unit = Currency(code)
    except ValueError:
        raise RoomError(f"{currency!r} is not an ISO 4217 currency code") from None
    if unit.exponent is None:  # gold, test codes, funds: not money anyone is paid in
        raise RoomError(f"{code} is not a currency a settlement can be paid in")
    if not DECIMAL.fullmatch(amount):
        raise RoomError(f"amount {amount!r} is not a plain decimal number such as 1250.00")
    value = Decimal(amount)
    if value >= MAX_AMOUNT:
        raise RoomError(f"amount {amount!r} is not below {MAX_AMOUNT:,}")
    places = len(amount.partition(".")[2])
    if places > unit.exponent:
        raise RoomError(f"{code} has {unit.exponent} decimal places; {amount!r} has {places}")
    canonical = value.quantize(Decimal(1).scaleb(-unit.exponent))
    return Terms(f"{canonical:f}", code, text, milestone or None)


def expiry(now: datetime, minutes: int) -> datetime:
    return now + timedelta(minutes=max(1, min(minutes, MAX_EXPIRY_MINUTES)))


def proposal_body(proposed: Terms, expires_at: datetime, counters: int | None = None) -> str:
    expires = expires_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return encode(ProposalBody(proposed, expires, counters))


def response_body(proposal: int, answer: str) -> str:
    if answer not in ANSWERS:
        raise RoomError(f"answer is one of {', '.join(ANSWERS)}")
    return encode(ResponseBody(proposal, answer))
