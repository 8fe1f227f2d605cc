"""Email through SMTP (the standard library's smtplib, in a thread): STARTTLS, implicit
TLS or plain, with or without login. One connection per message; each message carries a
Message-ID made from its outbox row's id, so a message sent twice (a sender died after
the server took it) is recognisable as one."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from infra.settings import Settings
from services.notify import templates
from services.notify.channels import DeliveryError, address, message_key, register_transport
from store.models import OutboxRow


class SmtpTransport:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.port = settings.resolved_smtp_port
        self.security = settings.smtp_security
        self.user = settings.smtp_user
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.sender = settings.smtp_from
        self.timeout = settings.smtp_timeout_seconds
        self.base_url = settings.public_base_url
        self.tls = ssl.create_default_context(
            cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        )
        name, sender_address = parseaddr(self.sender)
        self.signature = name or sender_address
        self.domain = sender_address.rpartition("@")[2] or "motcua.local"

    def message(self, row: OutboxRow) -> EmailMessage:
        content = templates.email(row, base_url=self.base_url, signature=self.signature)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = address(row)
        msg["Subject"] = content.subject
        msg["Date"] = formatdate(localtime=False)  # when it is sent; the body says when it happened
        msg["Message-ID"] = f"<{message_key(row)}@{self.domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        msg.set_content(content.body, charset="utf-8")
        msg["Content-Language"] = "vi"  # after set_content, which drops Content-* headers
        return msg

    def _send(self, msg: EmailMessage) -> None:
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=self.tls)
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(msg)

    async def send(self, row: OutboxRow) -> None:
        if "@" not in address(row):
            raise DeliveryError(f"'{address(row)}' is not an email address", permanent=True)
        msg = self.message(row)
        try:
            await asyncio.to_thread(self._send, msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryError(
                f"SMTP refused the recipient ({', '.join(map(str, codes))})",
                permanent=all(c >= 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error
            text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
            # A 5xx about the message is final; one about the login or our sender is
            # a setting to fix, so the row keeps its remaining attempts.
            config = isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused)
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {text}",
                permanent=exc.smtp_code >= 500 and not config,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc!r}") from None


def _smtp(settings: Settings) -> SmtpTransport | str:
    if not settings.smtp_host:
        return "MOTCUA_SMTP_HOST is not set; email notifications stay pending in the outbox"
    return SmtpTransport(settings)


register_transport("email", _smtp)
