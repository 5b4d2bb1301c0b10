"""Moderator profiles: the languages, skills and tier the queue routes rooms by."""

import re
from typing import Annotated, Any

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import PLATFORM, require_api_key, require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.rooms import Language, Skills
from mediation.moderators.profiles import ProfileStore
from rooms.routing import MAX_LANGUAGES, Profile, primary_language, skills_of
from rooms.visibility import Role

MAX_TIER = 2**31 - 1  # the rooms' tier column's range
_NAME = re.compile(r"^[\w.@:+-]{1,128}$")


class PutProfile(Struct, forbid_unknown_fields=True):
    languages: Annotated[list[Language], Meta(min_length=1, max_length=MAX_LANGUAGES)]
    tier: Annotated[int, Meta(ge=1, le=MAX_TIER)]  # the highest tier they handle
    skills: Skills = []


class ProfileOut(Struct):
    user: str
    languages: list[str]  # BCP 47 primary subtags
    skills: list[str]
    tier: int


class ProfileList(Struct):
    moderators: list[ProfileOut]


def profile_json(profile: Profile) -> dict[str, Any]:
    return {
        "user": profile.user,
        "languages": list(profile.languages),
        "skills": list(profile.skills),
        "tier": profile.tier,
    }


def _user(request: Request) -> str:
    user: str = request.path_params["user"]
    if not _NAME.match(user):
        raise ApiError(400, "invalid", "a moderator's user id is 1-128 of letters, digits, .@:+-_")
    return user


async def list_profiles(request: Request) -> JSONResponse:
    """GET /api/moderators (API key): every moderator's profile, by user id."""
    found = require_api_key(request)
    profiles = await ProfileStore(found.db).all()
    return JSONResponse({"moderators": [profile_json(p) for p in profiles]})


async def get_profile(request: Request) -> JSONResponse:
    """GET /api/moderators/{user}: the API key reads any, a moderator their own."""
    actor = require_staff(request, Role.MODERATOR)
    user = _user(request)
    if not actor.is_platform and actor.user != user:
        raise ApiError(403, "forbidden", "a moderator reads their own profile only")
    profile = await ProfileStore(services(request).db).get(user)
    if profile is None:
        raise ApiError(404, "not_found", f"{user} has no moderator profile")
    return JSONResponse(profile_json(profile))


async def put_profile(request: Request) -> JSONResponse:
    """PUT /api/moderators/{user} (API key): create (201) or replace (200) the profile."""
    found = require_api_key(request)
    user = _user(request)
    body = await read_json(request, PutProfile)
    languages = list(dict.fromkeys(primary_language(tag) or "" for tag in body.languages))
    profile = Profile(user, tuple(languages), tuple(skills_of(body.skills)), body.tier)
    created = await ProfileStore(found.db).put(profile, PLATFORM.user)
    await found.access_log.append(PLATFORM.user, PLATFORM.role, "", f"moderator_put:{user}", "")
    return JSONResponse(profile_json(profile), 201 if created else 200)


routes = [
    Route("/api/moderators", list_profiles),
    Route("/api/moderators/{user}", get_profile),
    Route("/api/moderators/{user}", put_profile, methods=["PUT"]),
]

operations = [
    Operation(
        "GET",
        "/api/moderators",
        "Every moderator's routing profile (languages, skills, tier)",
        (API_KEY,),
        (Answer(200, "the profiles", ProfileList),),
    ),
    Operation(
        "GET",
        "/api/moderators/{user}",
        "A moderator's routing profile (a moderator reads their own)",
        (API_KEY, STAFF),
        (Answer(200, "the profile", ProfileOut),),
        errors=(400, 403, 404),
    ),
    Operation(
        "PUT",
        "/api/moderators/{user}",
        "Set a moderator's languages, skills and tier: create (201) or replace (200)",
        (API_KEY,),
        (Answer(200, "replaced", ProfileOut), Answer(201, "created", ProfileOut)),
        errors=(400,),
        body=PutProfile,
    ),
]
