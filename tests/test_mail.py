"""The mail destination against a real SMTP server on a real socket."""

import dataclasses
import datetime
import ipaddress
import re
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mediation.outbox.delivery import Delivered, Delivery, Outcome, Permanent, Retry
from mediation.outbox.mail import Mailer, MailSettings
from mediation.outbox.notice_text import notice
from tests.smtp_server import SmtpServer

SENDER = "Mediation <notices@mediation.example>"
PASSWORD = "p@ss:/w0rd%20&?#"  # characters a URL must escape (ASCII: a server may echo it)
SECRET = "the text of a message nobody may mail"


def delivery(event_id: str = "evt-1", **data: Any) -> Delivery:
    fields: dict[str, Any] = {
        "user": "u-7",
        "role": "client",
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "locale": "en",
        "unread": 3,
        "what": "proposal",
        "from": "the moderator",
        "link": "https://mediation.example/r/room-1?sign_in=abc&x=1",
        "text": SECRET,  # a field the template never reads
    }
    fields.update(data)
    return Delivery(
        id=1,
        event_id=event_id,
        destination="mail",
        topic="party.waiting",
        room_id="room-1",
        ticket_provider="zendesk",
        ticket_id="T-1",
        data=fields,
        created_at=datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC),
        attempts=0,
        uncertain=False,
    )


def mailer(url: str, timeout: float = 5.0) -> Mailer:
    return Mailer(MailSettings(url, SENDER, timeout))


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return plain.get_content(), html.get_content()


async def test_a_notice_arrives_with_headers_both_parts_and_only_the_template() -> None:
    async with SmtpServer() as smtp:
        outcome = await mailer(smtp.url()).deliver(delivery())
        assert outcome == Delivered()
        [got] = smtp.received
    assert got.mail_from == "notices@mediation.example"
    assert got.rcpt_tos == ["ada@example.org"]
    message = got.message
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["From"] == "Mediation <notices@mediation.example>"
    assert message["Subject"] == "The moderator sent you a proposal"
    assert message["Message-ID"] == "<evt-1@mediation.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = parts(message)
    expected = notice(
        locale="en",
        name="Ada Lovelace",
        sender="the moderator",
        kind="proposal",
        unread=3,
        link="https://mediation.example/r/room-1?sign_in=abc&x=1",
    )
    assert plain.replace("\r\n", "\n") == expected.plain  # the template and nothing else
    assert html.replace("\r\n", "\n") == expected.html
    assert "https://mediation.example/r/room-1?sign_in=abc&x=1" in plain
    assert 'href="https://mediation.example/r/room-1?sign_in=abc&amp;x=1"' in html
    assert ": 3." in plain
    assert SECRET not in got.raw.decode("ascii")
    assert got.raw.isascii()  # quoted-printable parts, encoded headers: no 8BITMIME needed


async def test_the_notice_speaks_the_persons_language_and_escapes_html() -> None:
    async with SmtpServer() as smtp:
        ada = delivery(locale="fr-FR", name="Zoé <b>&", what="message", unread=12)
        assert await mailer(smtp.url()).deliver(ada) == Delivered()
        [got] = smtp.received
    assert got.message["Subject"] == "Le médiateur vous a envoyé un message"
    assert got.message["Content-Language"] == "fr"
    plain, html = parts(got.message)
    assert plain.startswith("Bonjour Zoé <b>&,")
    assert "non lus en attente : 12." in plain
    assert "Bonjour Zoé &lt;b&gt;&amp;," in html and "<b>&" not in html
    assert '<html lang="fr">' in html and "Ouvrir la médiation" in html


@pytest.mark.parametrize(
    ("locale", "words"),
    [("es", "te ha enviado una propuesta"), ("de", "einen Vorschlag"), ("pt", "sent you")],
)
async def test_each_locale_has_its_words_and_unknown_ones_read_english(
    locale: str, words: str
) -> None:
    async with SmtpServer() as smtp:
        assert await mailer(smtp.url()).deliver(delivery(locale=locale)) == Delivered()
        plain, _ = parts(smtp.received[0].message)
    assert words in plain


async def test_auth_takes_user_and_password_from_the_url_percent_decoded() -> None:
    async with SmtpServer(users={"mé user": PASSWORD, "u": "pässwörd"}) as smtp:
        assert await mailer(smtp.url("mé user", PASSWORD)).deliver(delivery()) == Delivered()
        assert await mailer(smtp.url("u", "pässwörd")).deliver(delivery()) == Delivered()
        assert [got.login for got in smtp.received] == ["mé user", "u"]
        refused = await mailer(smtp.url("mé user", PASSWORD + "x")).deliver(delivery())
        anonymous = await mailer(smtp.url()).deliver(delivery())
    assert isinstance(refused, Retry) and "AUTH refused: 535" in refused.error
    assert isinstance(anonymous, Retry) and "530" in anonymous.error  # auth required at MAIL
    assert PASSWORD not in refused.error and PASSWORD + "x" not in refused.error


@pytest.mark.parametrize("command", ["RCPT", "DATA"])
async def test_a_temporary_refusal_is_retried_and_the_next_attempt_goes(
    command: Any,
) -> None:
    async with SmtpServer() as smtp:
        smtp.fail(command, "451 4.3.0 Try again later")
        outcome = await mailer(smtp.url()).deliver(delivery())
        assert isinstance(outcome, Retry) and not outcome.uncertain
        assert f"{command} refused: 451" in outcome.error
        assert smtp.received == []
        assert await mailer(smtp.url()).deliver(delivery()) == Delivered()
        assert len(smtp.received) == 1


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("RCPT", "550 5.1.1 Mailbox unavailable"),
        ("RCPT", "553 5.1.3 Mailbox name not allowed"),
        ("DATA", "554 5.7.1 Rejected"),
    ],
)
async def test_a_permanent_refusal_is_permanent(command: Any, reply: str) -> None:
    async with SmtpServer() as smtp:
        smtp.fail(command, reply)
        outcome = await mailer(smtp.url()).deliver(delivery())
        assert smtp.received == []
    assert isinstance(outcome, Permanent)
    assert f"{command} refused: {reply[:3]}" in outcome.error


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connection_refused_is_retried() -> None:
    port = closed_port()
    outcome = await mailer(f"smtp://u:{quote(PASSWORD, safe='')}@127.0.0.1:{port}").deliver(
        delivery()
    )
    assert isinstance(outcome, Retry) and not outcome.uncertain
    assert f"cannot connect to 127.0.0.1:{port}" in outcome.error


async def test_a_timeout_after_data_may_have_gone_through() -> None:
    async with SmtpServer() as smtp:
        smtp.hang_data(2.0)
        outcome = await mailer(smtp.url(), timeout=0.5).deliver(delivery())
    assert isinstance(outcome, Retry) and outcome.uncertain
    assert "timed out at DATA" in outcome.error


async def test_no_error_names_the_password() -> None:
    outcomes: list[Outcome] = []
    async with SmtpServer(users={"u": PASSWORD}) as smtp:
        good, bad = smtp.url("u", PASSWORD), smtp.url("u", "wrong" + PASSWORD)
        outcomes.append(await mailer(bad).deliver(delivery()))
        smtp.fail("RCPT", f"451 4.3.0 your password {PASSWORD} is on the wall")
        outcomes.append(await mailer(good).deliver(delivery()))
        smtp.fail("DATA", f"550 5.7.1 no, {PASSWORD}")
        outcomes.append(await mailer(good).deliver(delivery()))
        smtp.hang_data(1.0)
        outcomes.append(await mailer(good, timeout=0.3).deliver(delivery()))
    outcomes.append(
        await mailer(f"smtp://u:{quote(PASSWORD, safe='')}@127.0.0.1:{closed_port()}").deliver(
            delivery()
        )
    )
    outcomes.append(await mailer(bad).deliver(delivery(email="not an address")))
    errors = [o.error for o in outcomes if isinstance(o, Retry | Permanent)]
    assert len(errors) == len(outcomes)
    assert "***" in errors[1] and "***" in errors[2]  # the server's echo, scrubbed
    for error in errors:
        assert "p@ss" not in error and quote(PASSWORD) not in error and SECRET not in error
    with pytest.raises(ValueError, match="mail url") as bad_url:
        mailer(f"smtp://u:{quote(PASSWORD, safe='')}@host:notaport")
    assert "p@ss" not in str(bad_url.value)
    hidden = MailSettings(f"smtp://u:{quote(PASSWORD, safe='')}@host", SENDER)
    assert quote(PASSWORD, safe="") not in repr(hidden)


async def test_the_message_id_is_the_events_on_every_attempt() -> None:
    async with SmtpServer() as smtp:
        sender = mailer(smtp.url())
        smtp.fail("DATA", "451 4.3.0 later")
        assert isinstance(await sender.deliver(delivery("evt/2 ü")), Retry)
        for event in ("evt/2 ü", "evt/2 ü", "evt-3"):
            assert await sender.deliver(delivery(event)) == Delivered()
        ids = [got.message["Message-ID"] for got in smtp.received]
    assert ids[0] == ids[1] != ids[2]
    assert re.fullmatch(r"<[0-9a-f]{32}@mediation\.example>", ids[0])  # not foldable
    assert re.fullmatch(r"<evt-3@mediation\.example>", ids[2])
    assert smtp.received[0].message["Date"] == smtp.received[1].message["Date"]


@pytest.mark.parametrize(
    "data",
    [
        {"email": None},
        {"email": ""},
        {"email": "ada@"},
        {"email": "ada"},
        {"email": "ada@example.org\r\nBcc: eve@example.org"},
        {"email": "a, b@example.org"},
        {"unread": 0},
        {"what": "gossip"},
        {"link": "javascript:alert(1)"},
    ],
)
async def test_a_row_that_cannot_make_a_mail_is_permanent_and_sends_nothing(
    data: dict[str, Any],
) -> None:
    async with SmtpServer() as smtp:
        outcome = await mailer(smtp.url()).deliver(delivery(**data))
        assert smtp.received == []
    assert isinstance(outcome, Permanent)


async def test_another_topic_is_permanent() -> None:
    other = dataclasses.replace(delivery(), topic="room.claimed")
    outcome = await mailer(f"smtp://127.0.0.1:{closed_port()}").deliver(other)
    assert isinstance(outcome, Permanent) and "room.claimed" in outcome.error


@pytest.mark.parametrize(
    "url",
    [
        "http://host",
        "smtp://",
        "smtp://host:99999",
        "smtps://host?tls=0",
        "smtp://host?tls=maybe",
        "smtp://host?tsl=0",
    ],
)
def test_a_bad_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValueError, match="mail url"):
        mailer(url)


# TLS: a certificate for 127.0.0.1 signed by a CA the client trusts through SSL_CERT_FILE


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(ca.pem, server cert.pem, server key.pem)"""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer: Any
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        else:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("test ca", ca_key, None, ca_key)
    server = certificate("127.0.0.1", server_key, ca.subject, ca_key)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def server_tls(
    certificates: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> ssl.SSLContext:
    ca, cert, key = certificates
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the client's default context trusts the CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_starttls_is_used_when_offered_and_tls_0_opts_out(
    server_tls: ssl.SSLContext,
) -> None:
    async with SmtpServer(users={"u": PASSWORD}, tls=server_tls) as smtp:
        assert await mailer(smtp.url("u", PASSWORD)).deliver(delivery()) == Delivered()
        assert await mailer(smtp.url("u", PASSWORD, "tls=0")).deliver(delivery()) == Delivered()
        assert [got.tls for got in smtp.received] == [True, False]


async def test_tls_1_requires_starttls() -> None:
    async with SmtpServer() as smtp:  # offers no STARTTLS
        outcome = await mailer(smtp.url(query="tls=1")).deliver(delivery())
        assert smtp.received == []
    assert isinstance(outcome, Retry)


async def test_smtps_speaks_tls_from_the_first_byte(server_tls: ssl.SSLContext) -> None:
    async with SmtpServer(users={"u": PASSWORD}, tls=server_tls, implicit=True) as smtp:
        assert smtp.url().startswith("smtps://")
        assert await mailer(smtp.url("u", PASSWORD)).deliver(delivery()) == Delivered()
        assert [(got.tls, got.login) for got in smtp.received] == [(True, "u")]
    async with SmtpServer() as plain:
        outcome = await mailer(f"smtps://127.0.0.1:{plain.port}").deliver(delivery())
    assert isinstance(outcome, Retry)
