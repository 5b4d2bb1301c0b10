"""A transcript bundle rendered as HTML an auditor can read and print without tools.

It is rendered from the bundle's own lines, so it shows exactly what the
signature covers; every text is escaped.
"""

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from html import escape
from typing import Any

from rooms.deadlines import describe

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111}
h1{font-size:1.3rem}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.body{white-space:pre-wrap}td.meta{white-space:nowrap;color:#444;font-size:12px}
.caucus{background:#f4f7ff}.notes{background:#fff8e6}code{font-size:11px;word-break:break-all}
@media print{body{margin:0}tr{page-break-inside:avoid}}
"""

# Served from our origin, the page runs no script and allows only its own stylesheet.
POLICY = (
    f"default-src 'none'; style-src 'sha256-"
    f"{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; sandbox"
)


def _head(header: dict[str, object]) -> str:
    room = header["room"]
    assert isinstance(room, dict)
    people = ", ".join(f"{escape(p['user'])} ({escape(p['role'])})" for p in room["participants"])
    ticket = room["ticket"]
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>Transcript {escape(room['id'])}</title><style>{STYLE}</style>"
        f"<h1>Dispute transcript: room {escape(room['id'])}</h1>"
        f"<p>Ticket {escape(ticket['provider'])}/{escape(ticket['id'])} · state "
        f"{escape(room['state'])} · exported {escape(str(header['exported_at']))}</p>"
        f"<p>Participants: {people}</p>{_evidence(header.get('evidence'))}"
        f"{_files(header.get('files'))}"
        "<table><thead><tr><th>#</th><th>channel</th><th>sender</th><th>time</th>"
        "<th>message</th></tr></thead><tbody>"
    )


def _evidence(requests: object) -> str:
    """The evidence requests the bundle lists: what was asked of whom by when, the files
    that answered (late ones flagged) and the moderator's verdict."""
    if not isinstance(requests, list) or not requests:
        return ""
    rows = "".join(_request_row(r) for r in requests)
    return (
        "<h2>Evidence requests</h2><table><thead><tr><th>#</th><th>asked of</th><th>item</th>"
        f"<th>due</th><th>answers</th><th>review</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _request_row(r: dict[str, Any]) -> str:
    answers = "<br>".join(
        f"{escape(a['name'])} <code>{escape(a['file'])}</code> {escape(a['ts'])}"
        f"{' <strong>late</strong>' if a['late'] else ''}{' (deleted)' if a['deleted'] else ''}"
        for a in r["answers"]
    )
    review = r["review"]
    verdict = (
        "open"
        if review is None
        else f"{escape(review['verdict'])} by {escape(review['by']['user'])} "
        f"{escape(review['ts'])}<br>{escape(review['note'])}"
    )
    return (
        f"<tr><td class=meta>{escape(r['channel'])} #{r['seq']}</td>"
        f"<td>{escape(r['party'])}</td><td class=body>{escape(r['item'])}</td>"
        f"<td class=meta>{escape(r['due_at'])}</td><td>{answers or 'none'}</td>"
        f"<td>{verdict}</td></tr>"
    )


def _files(files: object) -> str:
    """The files the bundle lists, with the SHA-256 a copy must match."""
    if not isinstance(files, list) or not files:
        return ""
    rows = "".join(
        f"<tr><td class=meta>{f['position']}</td><td>{escape(f['name'])}"
        f"{' (deleted)' if f['deleted'] else ''}</td>"
        f"<td class=meta>{escape(f['content_type'])}<br>{f['size']} bytes</td>"
        f"<td class=meta>{escape(f['uploader']['user'])}<br>{escape(f['uploader']['role'])}</td>"
        f"<td><code>{escape(f['sha256'])}</code></td></tr>"
        for f in files
    )
    return (
        "<h2>Files</h2><table><thead><tr><th>#</th><th>name</th><th>type</th><th>uploader</th>"
        f"<th>SHA-256</th></tr></thead><tbody>{rows}</tbody></table><h2>Records</h2>"
    )


def _row(record: dict[str, object]) -> str:
    channel = str(record["channel"])
    sender = record["sender"]
    assert isinstance(sender, dict)
    css = "caucus" if channel.startswith("caucus") else channel
    return (
        f"<tr class={escape(css)}><td class=meta>{record['position']}</td>"
        f"<td class=meta>{escape(channel)} #{record['seq']}</td>"
        f"<td class=meta>{escape(sender['user'])}<br>{escape(sender['role'])}</td>"
        f"<td class=meta>{escape(str(record['ts']))}</td>"
        f"<td class=body>{escape(_text(record))}</td></tr>"
    )


def _text(record: dict[str, object]) -> str:
    """A message's text; a deadline's record in words (its JSON body beneath); a redacted
    one's notice (its redaction record, later, says why)."""
    if "body_sha256" in record:
        return f"[text removed by a moderator; SHA-256 of the text: {record['body_sha256']}]"
    body = str(record["body"])
    said = describe(str(record.get("kind", "")), body) if record["body"] is not None else None
    return body if said is None else f"{said}\n{body}"


def _foot(footer: dict[str, object]) -> str:
    return (
        "</tbody></table>"
        f"<p>{footer['records']} records. Signed with Ed25519 key "
        f"<code>{escape(str(footer['key_id']))}</code>; chain head "
        f"<code>{escape(str(footer['chain_head']))}</code>. Verify the bundle itself with "
        "<code>mediation verify BUNDLE --public-key KEY.pem</code>.</p></html>"
    )


async def render(lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for raw in lines:
        obj = json.loads(raw)
        kind = obj["type"]
        html = _head(obj) if kind == "header" else _row(obj) if kind == "record" else _foot(obj)
        yield html.encode()
