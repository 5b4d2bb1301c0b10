"""The words of the "something waits for you" mail, per locale, plain and HTML.

Only what the outbox row carries goes in: who wrote last, what kind of thing waits,
how many unread, the link. Never message text (the row has none).
"""

from dataclasses import dataclass
from html import escape
from string import Template
from typing import Literal

Kind = Literal["message", "proposal", "reminder", "evidence"]
KINDS: tuple[Kind, ...] = ("message", "proposal", "reminder", "evidence")
LOCALES = ("en", "fr", "es", "de")


@dataclass(frozen=True, slots=True)
class Notice:
    subject: str
    plain: str
    html: str


@dataclass(frozen=True, slots=True)
class _Words:
    kinds: dict[Kind, str]  # "a message", with its article
    roles: dict[str, str]  # how a role reads when "from" names one
    someone: str  # when "from" is empty
    subject: Template  # $kind $from
    greeting: Template  # $name
    greeting_anonymous: str
    body: Template  # $from $kind $unread
    action: str  # the link's words
    footer: str


_WORDS: dict[str, _Words] = {
    "en": _Words(
        kinds={
            "message": "a message",
            "proposal": "a proposal",
            "reminder": "a reminder",
            "evidence": "a request for evidence",
        },
        roles={
            "moderator": "the moderator",
            "client": "the client",
            "freelancer": "the freelancer",
        },
        someone="someone",
        subject=Template("$from sent you $kind"),
        greeting=Template("Hello $name,"),
        greeting_anonymous="Hello,",
        body=Template(
            "$from sent you $kind in your mediation. Unread items waiting for you: $unread."
        ),
        action="Open the mediation",
        footer="You receive this because you take part in this mediation and were away.",
    ),
    "fr": _Words(
        kinds={
            "message": "un message",
            "proposal": "une proposition",
            "reminder": "un rappel",
            "evidence": "une demande de pièces",
        },
        roles={"moderator": "le médiateur", "client": "le client", "freelancer": "le prestataire"},
        someone="quelqu'un",
        subject=Template("$from vous a envoyé $kind"),
        greeting=Template("Bonjour $name,"),
        greeting_anonymous="Bonjour,",
        body=Template(
            "$from vous a envoyé $kind dans votre médiation. Éléments non lus en attente : $unread."
        ),
        action="Ouvrir la médiation",
        footer="Vous recevez ce courriel car vous participez à cette médiation et étiez absent.",
    ),
    "es": _Words(
        kinds={
            "message": "un mensaje",
            "proposal": "una propuesta",
            "reminder": "un recordatorio",
            "evidence": "una solicitud de pruebas",
        },
        roles={"moderator": "el mediador", "client": "el cliente", "freelancer": "el profesional"},
        someone="alguien",
        subject=Template("$from te ha enviado $kind"),
        greeting=Template("Hola, $name:"),
        greeting_anonymous="Hola:",
        body=Template(
            "$from te ha enviado $kind en tu mediación. Elementos sin leer que te esperan: $unread."
        ),
        action="Abrir la mediación",
        footer="Recibes este correo porque participas en esta mediación y estabas ausente.",
    ),
    "de": _Words(
        kinds={
            "message": "eine Nachricht",
            "proposal": "einen Vorschlag",
            "reminder": "eine Erinnerung",
            "evidence": "eine Anforderung von Nachweisen",
        },
        roles={
            "moderator": "der Mediator",
            "client": "der Auftraggeber",
            "freelancer": "der Auftragnehmer",
        },
        someone="jemand",
        subject=Template("$from hat Ihnen $kind gesendet"),
        greeting=Template("Hallo $name,"),
        greeting_anonymous="Hallo,",
        body=Template(
            "$from hat Ihnen in Ihrer Mediation $kind gesendet. Ungelesene Einträge: $unread."
        ),
        action="Mediation öffnen",
        footer=(
            "Sie erhalten diese E-Mail, weil Sie an dieser Mediation teilnehmen und abwesend waren."
        ),
    ),
}

_PLAIN = Template("$greeting\n\n$body\n\n$action:\n$link\n\n-- \n$footer\n")
_HTML = Template(
    '<!DOCTYPE html>\n<html lang="$lang"><head><meta charset="utf-8">'
    "<title>$subject</title></head>\n"
    "<body>\n<p>$greeting</p>\n<p>$body</p>\n"
    '<p><a href="$link">$action</a></p>\n<p style="color:#666;font-size:smaller">$footer</p>\n'
    "</body></html>\n"
)


def locale_of(value: object) -> str:
    """ "fr", "fr-CA", "FR_fr" -> "fr"; anything not translated -> "en"."""
    if not isinstance(value, str):
        return "en"
    lang = value.replace("_", "-").split("-", 1)[0].strip().lower()
    return lang if lang in _WORDS else "en"


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def notice(*, locale: str, name: str, sender: str, kind: Kind, unread: int, link: str) -> Notice:
    """The mail for one person. `sender` is who wrote last: a display name, or a role
    ("moderator", "the moderator"), which reads in the locale's words."""
    lang = locale_of(locale)
    words = _WORDS[lang]
    name, sender = _one_line(name), _one_line(sender)
    who = words.roles.get(sender.lower().removeprefix("the "), sender) or words.someone
    values = {"from": who, "kind": words.kinds[kind], "unread": str(unread)}
    subject = _sentence_start(words.subject.substitute(values))
    greeting = words.greeting.substitute(name=name) if name else words.greeting_anonymous
    plain = _PLAIN.substitute(
        greeting=greeting,
        body=_sentence_start(words.body.substitute(values)),
        action=words.action,
        link=link,
        footer=words.footer,
    )
    escaped = {key: escape(value) for key, value in values.items()}
    html = _HTML.substitute(
        lang=lang,
        subject=escape(subject),
        greeting=words.greeting.substitute(name=escape(name)) if name else escape(greeting),
        body=_sentence_start(words.body.substitute(escaped)),
        action=escape(words.action),
        link=escape(link),
        footer=escape(words.footer),
    )
    return Notice(subject=subject, plain=plain, html=html)


# -- a deadline's warning (deadline.warning): when it falls due, and what applies then ------


@dataclass(frozen=True, slots=True)
class _DeadlineWords:
    subject: str
    body: Template  # $due $outcome
    outcomes: dict[str, str]
    footer: str


_DEADLINE_WORDS: dict[str, _DeadlineWords] = {
    "en": _DeadlineWords(
        subject="Your answer is due soon in your mediation",
        body=Template("The moderator asked for your answer by $due (UTC). Without it, $outcome."),
        outcomes={
            "accept_proposal": "the open proposal will be taken as accepted by you",
            "resolve": "the dispute will be resolved on the terms the moderator stated",
            "escalate": "the dispute will be escalated",
        },
        footer="You receive this because a deadline in your mediation falls due soon.",
    ),
    "fr": _DeadlineWords(
        subject="Votre réponse est attendue bientôt dans votre médiation",
        body=Template(
            "Le médiateur attend votre réponse avant le $due (UTC). Sans réponse, $outcome."
        ),
        outcomes={
            "accept_proposal": "la proposition en cours sera considérée comme acceptée par vous",
            "resolve": "le litige sera résolu aux conditions indiquées par le médiateur",
            "escalate": "le litige sera transmis au niveau supérieur",
        },
        footer="Vous recevez ce courriel car une échéance de votre médiation approche.",
    ),
    "es": _DeadlineWords(
        subject="Tu respuesta vence pronto en tu mediación",
        body=Template("El mediador espera tu respuesta antes del $due (UTC). Si no, $outcome."),
        outcomes={
            "accept_proposal": "la propuesta abierta se tomará como aceptada por ti",
            "resolve": "la disputa se resolverá en los términos indicados por el mediador",
            "escalate": "la disputa se escalará",
        },
        footer="Recibes este correo porque un plazo de tu mediación vence pronto.",
    ),
    "de": _DeadlineWords(
        subject="Ihre Antwort in Ihrer Mediation ist bald fällig",
        body=Template(
            "Der Mediator erwartet Ihre Antwort bis $due (UTC). Ohne Antwort gilt: $outcome."
        ),
        outcomes={
            "accept_proposal": "der offene Vorschlag gilt als von Ihnen angenommen",
            "resolve": "der Streit wird zu den vom Mediator genannten Bedingungen beigelegt",
            "escalate": "der Streit wird eskaliert",
        },
        footer="Sie erhalten diese E-Mail, weil eine Frist in Ihrer Mediation bald abläuft.",
    ),
}


def deadline_notice(*, locale: str, name: str, due_at: str, outcome: str, link: str) -> Notice:
    """The warning mail to the party a deadline is set on; `due_at` is ISO 8601 UTC."""
    lang = locale_of(locale)
    words, said = _WORDS[lang], _DEADLINE_WORDS[lang]
    name = _one_line(name)
    due = _one_line(due_at).replace("T", " ").removesuffix("Z")[:16]  # 2026-11-26 09:00
    values = {"due": due, "outcome": said.outcomes.get(outcome, outcome)}
    greeting = words.greeting.substitute(name=name) if name else words.greeting_anonymous
    body = said.body.substitute(values)
    plain = _PLAIN.substitute(
        greeting=greeting, body=body, action=words.action, link=link, footer=said.footer
    )
    html = _HTML.substitute(
        lang=lang,
        subject=escape(said.subject),
        greeting=escape(greeting),
        body=escape(body),
        action=escape(words.action),
        link=escape(link),
        footer=escape(said.footer),
    )
    return Notice(subject=said.subject, plain=plain, html=html)
