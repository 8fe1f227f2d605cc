"""The signing errors; ``retryable`` tells an activity whether to try again."""

from __future__ import annotations

from typing import ClassVar


class SigningError(Exception):
    """Signing failed. ``retryable`` says whether trying again later may succeed."""

    retryable: ClassVar[bool] = False


class KeyNotFound(SigningError):
    """No certificate/key is configured for that officer or seal (fix keys.yaml)."""


class WrongAgency(SigningError):
    """The configured certificate belongs to another agency than the one expected."""


class CertificateNotValid(SigningError):
    """The certificate is expired or not yet valid at signing time."""


class CertificateRevoked(CertificateNotValid):
    """The certificate's CA says it was revoked: this key may never sign again."""


class SigningUnavailable(SigningError):
    """A transient failure: the time-stamping authority or the token can't be reached."""

    retryable: ClassVar[bool] = True
