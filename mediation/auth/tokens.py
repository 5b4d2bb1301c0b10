"""Short-lived JWTs (HS256, joserfc): room tokens name one user, role and room; staff
tokens name a moderator or auditor working across rooms (the console, the audit page).

The two have different audiences, so neither is ever accepted in place of the other.
"""

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry

from rooms.visibility import Role

ISSUER = "mediation"
AUDIENCE = "mediation.room"
STAFF_AUDIENCE = "mediation.staff"
STAFF_ROLES = (Role.MODERATOR, Role.AUDITOR)
ALGORITHM = "HS256"
LEEWAY = 30  # seconds of clock skew tolerated between nodes


class InvalidToken(Exception):
    code = "unauthorized"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token allows."""

    room_id: str
    user: str
    role: Role
    expires_at: int  # unix seconds
    purpose: str = ""


STAFF = "*"  # the room of a staff grant: any, through the staff endpoints only


class TokenIssuer:
    def __init__(self, secret: bytes, ttl: int) -> None:
        self._key = OctKey.import_key(secret)
        self._ttl = ttl
        self._room_claims = _registry(AUDIENCE, Role, room={"essential": True})
        self._staff_claims = _registry(STAFF_AUDIENCE, STAFF_ROLES)

    def mint(
        self, room_id: str, user: str, role: Role, ttl: int | None = None, purpose: str = ""
    ) -> tuple[str, Grant]:
        return self._mint(AUDIENCE, {"room": room_id}, Grant(room_id, user, role, 0, purpose), ttl)

    def mint_staff(
        self, user: str, role: Role, ttl: int | None = None, purpose: str = ""
    ) -> tuple[str, Grant]:
        if role not in STAFF_ROLES:
            raise ValueError("staff tokens are for moderators and auditors")
        return self._mint(STAFF_AUDIENCE, {}, Grant(STAFF, user, role, 0, purpose), ttl)

    def verify(self, token: str) -> Grant:
        claims = self._verified(token, self._room_claims)
        return Grant(
            claims["room"],
            claims["sub"],
            Role(claims["role"]),
            claims["exp"],
            claims.get("purpose", ""),
        )

    def verify_staff(self, token: str) -> Grant:
        claims = self._verified(token, self._staff_claims)
        return Grant(
            STAFF, claims["sub"], Role(claims["role"]), claims["exp"], claims.get("purpose", "")
        )

    def _mint(
        self, audience: str, extra: dict[str, str], grant: Grant, ttl: int | None
    ) -> tuple[str, Grant]:
        now = int(time.time())
        grant = replace(grant, expires_at=now + (ttl or self._ttl))
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": grant.user,
            "role": grant.role.value,
            "iat": now,
            "exp": grant.expires_at,
            "jti": secrets.token_urlsafe(12),
            **extra,
        }
        if grant.purpose:
            claims["purpose"] = grant.purpose
        return jwt.encode({"alg": ALGORITHM}, claims, self._key), grant

    def _verified(self, token: str, registry: JWTClaimsRegistry) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM]).claims
            registry.validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(_reason(exc)) from None
        return claims


def _registry(audience: str, roles: Iterable[Role], **more: ClaimsOption) -> JWTClaimsRegistry:
    options: dict[str, ClaimsOption] = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": audience},
        "exp": {"essential": True},
        "sub": {"essential": True},
        "role": {"essential": True, "values": [r.value for r in roles]},
        **more,
    }
    return JWTClaimsRegistry(None, LEEWAY, **options)


def _reason(exc: Exception) -> str:
    name = getattr(exc, "error", "")
    if name == "expired_token":
        return "token expired"
    if name == "bad_signature":
        return "token signature is not valid"
    return "token is not valid"
