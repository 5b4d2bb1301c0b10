"""The resumable uploads' routes (mediation/http/uploads.py), as OpenAPI operations:
tus 1.0.0 with creation, creation-with-upload, termination and expiration.
`tests/test_openapi.py` checks that every route of the app is described."""

from msgspec import Struct

from mediation.http.files import ChannelQuery, FileOut
from mediation.http.openapi import ROOM, Answer, Operation

TUS = ("Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Expires")
NUMBER = {"schema": {"type": "string", "pattern": "^[0-9]+$"}}
VERSION = {"required": False, "schema": {"type": "string"}, "description": "1.0.0"}
METADATA = {
    "required": False,
    "schema": {"type": "string"},
    "description": "tus Upload-Metadata: `filename` (or `name`) and `channel`, base64 values",
}
DISCOVERY = ("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size")


class UploadCreated(Struct):
    upload: str
    url: str  # where to PATCH, HEAD and DELETE it (also in Location)
    offset: int
    length: int


operations = [
    *(
        Operation(
            "OPTIONS",
            path,
            "tus discovery: the version, extensions and largest size this server takes",
            (),
            (Answer(204, "what this server speaks", headers=DISCOVERY),),
        )
        for path in ("/api/rooms/{room_id}/uploads", "/api/rooms/{room_id}/uploads/{upload_id}")
    ),
    Operation(
        "POST",
        "/api/rooms/{room_id}/uploads",
        "Start a resumable upload (tus creation; with a body, creation-with-upload)",
        (ROOM,),
        (
            Answer(
                201,
                "created (holding the file's facts too when the body completed it)",
                UploadCreated,
                headers=("Location", *TUS),
            ),
        ),
        errors=(400, 403, 404, 409, 412, 413, 415, 503),
        query=ChannelQuery,
        raw_body="application/offset+octet-stream",
        body_optional=True,  # the first bytes, when the client sends them with the creation
        headers={
            "Upload-Length": {"required": True, **NUMBER},
            "Upload-Metadata": METADATA,
            "Content-Disposition": {"required": False, "schema": {"type": "string"}},
            "Tus-Resumable": VERSION,
        },
    ),
    Operation(
        "HEAD",
        "/api/rooms/{room_id}/uploads/{upload_id}",
        "Where to resume: Upload-Offset, Upload-Length, Upload-Expires",
        (ROOM,),
        (Answer(200, "the upload's state", headers=(*TUS, "Upload-Metadata")),),
        errors=(403, 404, 412),
        headers={"Tus-Resumable": VERSION},
    ),
    Operation(
        "PATCH",
        "/api/rooms/{room_id}/uploads/{upload_id}",
        "The next bytes at Upload-Offset; the last ones store the file",
        (ROOM,),
        (
            Answer(204, "received: the new Upload-Offset", headers=TUS),
            Answer(201, "complete: the file's facts", FileOut, headers=TUS),
        ),
        errors=(400, 403, 404, 409, 412, 413, 415, 422, 503),
        raw_body="application/offset+octet-stream",
        headers={"Upload-Offset": {"required": True, **NUMBER}, "Tus-Resumable": VERSION},
    ),
    Operation(
        "DELETE",
        "/api/rooms/{room_id}/uploads/{upload_id}",
        "Abort: everything staged is removed",
        (ROOM,),
        (Answer(204, "removed", headers=("Tus-Resumable",)),),
        errors=(403, 404, 412, 503),
        headers={"Tus-Resumable": VERSION},
    ),
]
