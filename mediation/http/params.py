"""Query parameters, read through a msgspec schema: the one way every endpoint reads them.

Each endpoint describes its parameters as a Struct, bounded like any schema
(numbers with `Meta(ge=..., le=...)`, choices as `Literal`); a parameter
that is missing, malformed or out of range is a 400 `invalid` naming it,
before anything reaches the store. Unknown parameters are ignored.
"""

from typing import TypeVar

import msgspec
from starlette.requests import Request

from mediation.http.errors import ApiError

T = TypeVar("T")


def read_query(request: Request, kind: type[T]) -> T:
    try:  # strict=False: query values are text, read as the field's type ("12" -> 12)
        return msgspec.convert(dict(request.query_params), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid", f"query parameter: {exc}") from None
