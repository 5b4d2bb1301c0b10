"""SLA policies: the response clocks' targets per ticket priority (mediation.sla).

Any moderator reads them (the console shows them); the platform (API key)
changes them, and so may the moderators the operator names in
MEDIATION_SLA_EDITORS. Every change is written with who made it and when, and
to the access log (`sla_put:<priority>`, `sla_delete:<priority>`).
"""

from typing import Annotated, Any

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import Actor, require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.services import Services
from mediation.sla.policies import MAX_TARGET, PolicyStore
from rooms.clocks import Targets
from rooms.deadlines import MAX_POLICY_DAYS
from rooms.visibility import Role
from transcripts.store_types import PRIORITIES

Target = Annotated[float, Meta(gt=0, le=MAX_TARGET)]  # seconds


class PutPolicy(Struct, forbid_unknown_fields=True):
    first_response: Target  # a room may wait in the queue this long (`unclaimed`)
    answer: Target  # a party may wait for the moderator this long (`answer`)
    reply: Target  # the moderator waits for a party this long before a reminder (`reply`)
    # business days a party has to answer the other's proposal, else it stands as accepted
    proposal_answer_days: Annotated[int, Meta(ge=1, le=MAX_POLICY_DAYS)] | None = None


class PolicyOut(Struct):
    priority: str
    first_response: float
    answer: float
    reply: float
    proposal_answer_days: int | None  # None: no deadline is set on a proposal
    default: bool  # no policy of its own: the deployment's three target settings
    updated_by: str | None
    updated_at: str | None


class PolicyChanged(PolicyOut):
    rooms_retimed: int  # open rooms of this priority whose next alarm moved


class PolicyList(Struct):
    policies: list[PolicyOut]  # one per priority, most urgent first
    editable: bool  # whether this caller may change them


def targets_json(targets: Targets) -> dict[str, float]:
    return {
        "first_response": targets.first_response,
        "answer": targets.answer,
        "reply": targets.reply,
    }


async def _policies(found: Services) -> list[dict[str, Any]]:
    rows = await PolicyStore(found.db).all()
    out = []
    for priority in PRIORITIES:
        row = rows.get(priority)
        targets = found.sla.policies.defaults if row is None else row.targets
        out.append(
            {
                "priority": priority,
                **targets_json(targets),
                "proposal_answer_days": targets.proposal_answer_days,
                "default": row is None,
                "updated_by": None if row is None else row.updated_by,
                "updated_at": None if row is None else row.updated_at.isoformat(),
            }
        )
    return out


def may_edit(actor: Actor, found: Services) -> bool:
    return actor.is_platform or actor.user in found.settings.sla_editors


def _editor(request: Request) -> tuple[Actor, Services, str]:
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    if not may_edit(actor, found):
        raise ApiError(403, "forbidden", "only the API key and MEDIATION_SLA_EDITORS change SLAs")
    priority = request.path_params["priority"]
    if priority not in PRIORITIES:
        raise ApiError(404, "not_found", f"a priority is one of {', '.join(PRIORITIES)}")
    return actor, found, priority


async def _changed(
    actor: Actor, found: Services, verb: str, priority: str, retimed: int
) -> dict[str, Any]:
    """Audited; applied here at once (`found.sla.change`), the other processes within a
    clock tick."""
    await found.access_log.append(actor.user, actor.role, actor.purpose, f"{verb}:{priority}", "")
    now = next(p for p in await _policies(found) if p["priority"] == priority)
    return {**now, "rooms_retimed": retimed}


async def list_policies(request: Request) -> JSONResponse:
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    editable = may_edit(actor, found)
    return JSONResponse({"policies": await _policies(found), "editable": editable})


async def put_policy(request: Request) -> JSONResponse:
    actor, found, priority = _editor(request)
    body = await read_json(request, PutPolicy)
    targets = Targets(
        body.first_response,
        body.answer,
        body.reply,
        proposal_answer_days=body.proposal_answer_days,
    )
    store = PolicyStore(found.db)
    created, retimed = await found.sla.change(lambda: store.put(priority, targets, actor.user))
    changed = await _changed(actor, found, "sla_put", priority, retimed)
    return JSONResponse(changed, 201 if created else 200)


async def delete_policy(request: Request) -> JSONResponse:
    actor, found, priority = _editor(request)
    store = PolicyStore(found.db)
    deleted, retimed = await found.sla.change(lambda: store.delete(priority))
    if not deleted:
        raise ApiError(404, "not_found", f"{priority} has no policy of its own")
    return JSONResponse(await _changed(actor, found, "sla_delete", priority, retimed))


routes = [
    Route("/api/sla-policies", list_policies),
    Route("/api/sla-policies/{priority}", put_policy, methods=["PUT"]),
    Route("/api/sla-policies/{priority}", delete_policy, methods=["DELETE"]),
]

operations = [
    Operation(
        "GET",
        "/api/sla-policies",
        "Each priority's response clock targets",
        (API_KEY, STAFF),
        (Answer(200, "the policies", PolicyList),),
        errors=(403,),
    ),
    Operation(
        "PUT",
        "/api/sla-policies/{priority}",
        "Set a priority's targets: create (201) or replace (200)",
        (API_KEY, STAFF),
        (Answer(200, "replaced", PolicyChanged), Answer(201, "created", PolicyChanged)),
        errors=(403, 404),
        body=PutPolicy,
    ),
    Operation(
        "DELETE",
        "/api/sla-policies/{priority}",
        "Return a priority to the deployment's default targets",
        (API_KEY, STAFF),
        (Answer(200, "the targets now in force", PolicyChanged),),
        errors=(403, 404),
    ),
]
