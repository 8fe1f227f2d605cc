"""Notifications delivered: the outbox's email and SMS rows reach people.

- `channels`: the transport protocol, `DeliveryError`, and the registry of channels
  (a channel without a transport stays pending);
- `email`: SMTP (smtplib); `sms`: a brandname gateway over HTTP JSON;
- `templates`: the Vietnamese text of each channel (files in templates/);
- `sender`: claim, deliver, retry with backoff, give up; run by the centre's worker.

Importing the package registers the email and SMS transports."""

from __future__ import annotations

from services.notify import email, sms
from services.notify.channels import DeliveryError, Transport, register_transport
from services.notify.sender import (
    NotificationSender,
    RetryPolicy,
    notification_sender,
    start_notifications,
)

__all__ = [
    "DeliveryError",
    "NotificationSender",
    "RetryPolicy",
    "Transport",
    "email",
    "notification_sender",
    "register_transport",
    "sms",
    "start_notifications",
]
