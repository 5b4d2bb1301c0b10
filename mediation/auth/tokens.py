"""Room tokens: short-lived JWTs (HS256, joserfc) naming one user, role and room."""

import secrets
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from rooms.visibility import Role

ISSUER = "mediation"
AUDIENCE = "mediation.room"
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


class TokenIssuer:
    def __init__(self, secret: bytes, ttl: int) -> None:
        self._key = OctKey.import_key(secret)
        self._ttl = ttl
        self._claims = JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
            room={"essential": True},
            role={"essential": True, "values": [r.value for r in Role]},
        )

    def mint(
        self, room_id: str, user: str, role: Role, ttl: int | None = None, purpose: str = ""
    ) -> tuple[str, Grant]:
        now = int(time.time())
        grant = Grant(room_id, user, role, now + (ttl or self._ttl), purpose)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user,
            "room": room_id,
            "role": role.value,
            "iat": now,
            "exp": grant.expires_at,
            "jti": secrets.token_urlsafe(12),
        }
        if purpose:
            claims["purpose"] = purpose
        return jwt.encode({"alg": ALGORITHM}, claims, self._key), grant

    def verify(self, token: str) -> Grant:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM]).claims
            self._claims.validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(_reason(exc)) from None
        return Grant(
            claims["room"],
            claims["sub"],
            Role(claims["role"]),
            claims["exp"],
            claims.get("purpose", ""),
        )


def _reason(exc: Exception) -> str:
    name = getattr(exc, "error", "")
    if name == "expired_token":
        return "token expired"
    if name == "bad_signature":
        return "token signature is not valid"
    return "token is not valid"
