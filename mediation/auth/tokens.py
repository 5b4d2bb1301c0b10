"""Short-lived JWTs (HS256, joserfc): room tokens name one user, role and room; staff
tokens name a moderator or auditor working across rooms (the console, the audit page).

The two have different audiences, so neither is ever accepted in place of the other.
"""

import secrets
import time
from collections.abc import Callable, Iterable
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
STAFF_ROLES = (Role.MODERATOR, Role.AUDITOR, Role.OBSERVER)
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
    jti: str = ""  # the token's own id: revocable on its own
    issued_at: int = 0  # unix seconds


STAFF = "*"  # the room of a staff grant: any, through the staff endpoints only


def never(grant: Grant) -> bool:
    return False


class TokenIssuer:
    def __init__(
        self,
        secret: bytes,
        ttl: int,
        leeway: int = LEEWAY,
        revoked: Callable[[Grant], bool] = never,
    ) -> None:
        self._key = OctKey.import_key(secret)
        self._ttl = ttl
        self.leeway = leeway
        self._revoked = revoked
        self._room_claims = _registry(AUDIENCE, Role, leeway, room={"essential": True})
        self._staff_claims = _registry(STAFF_AUDIENCE, STAFF_ROLES, leeway)

    def mint(
        self,
        room_id: str,
        user: str,
        role: Role,
        ttl: int | None = None,
        purpose: str = "",
        not_after: int | None = None,
    ) -> tuple[str, Grant]:
        """A room token; `not_after` (unix seconds) caps its expiry, e.g. at the expiry of
        the staff token it was minted for."""
        grant = Grant(room_id, user, role, 0, purpose)
        return self._mint(AUDIENCE, {"room": room_id}, grant, ttl, not_after)

    def mint_staff(
        self, user: str, role: Role, ttl: int | None = None, purpose: str = ""
    ) -> tuple[str, Grant]:
        if role not in STAFF_ROLES:
            raise ValueError("staff tokens are for moderators, auditors and observers")
        return self._mint(STAFF_AUDIENCE, {}, Grant(STAFF, user, role, 0, purpose), ttl)

    def verify(self, token: str) -> Grant:
        claims = self._verified(token, self._room_claims)
        return self._granted(claims["room"], claims)

    def verify_staff(self, token: str) -> Grant:
        return self._granted(STAFF, self._verified(token, self._staff_claims))

    def closes_at(self, grant: Grant) -> int:
        """When a socket opened with `grant` is closed: its expiry, plus the leeway."""
        return grant.expires_at + self.leeway

    def _granted(self, room_id: str, claims: dict[str, Any]) -> Grant:
        grant = Grant(
            room_id,
            claims["sub"],
            Role(claims["role"]),
            claims["exp"],
            claims.get("purpose", ""),
            str(claims.get("jti", "")),
            int(claims.get("iat", 0)),
        )
        if self._revoked(grant):
            raise InvalidToken("token revoked")
        return grant

    def _mint(
        self,
        audience: str,
        extra: dict[str, str],
        grant: Grant,
        ttl: int | None,
        not_after: int | None = None,
    ) -> tuple[str, Grant]:
        now = int(time.time())
        expires_at = now + (ttl or self._ttl)
        grant = replace(
            grant,
            expires_at=expires_at if not_after is None else min(expires_at, not_after),
            jti=secrets.token_urlsafe(12),
            issued_at=now,
        )
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": grant.user,
            "role": grant.role.value,
            "iat": now,
            "exp": grant.expires_at,
            "jti": grant.jti,
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


def _registry(
    audience: str, roles: Iterable[Role], leeway: int, **more: ClaimsOption
) -> JWTClaimsRegistry:
    options: dict[str, ClaimsOption] = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": audience},
        "exp": {"essential": True},
        "sub": {"essential": True},
        "role": {"essential": True, "values": [r.value for r in roles]},
        **more,
    }
    return JWTClaimsRegistry(None, leeway, **options)


def _reason(exc: Exception) -> str:
    name = getattr(exc, "error", "")
    if name == "expired_token":
        return "token expired"
    if name == "bad_signature":
        return "token signature is not valid"
    return "token is not valid"
