"""Webhook signing secrets at rest, sealed with the operator's keys.

A Standard Webhooks secret must be recoverable to sign, so it cannot be hashed like a token.
Anyone holding it can sign requests a publisher's receiver trusts, which for a WeChat or
Weibo publisher means putting words in a government's mouth. With FABU_SECRET_KEYS set the
database only ever holds the secret encrypted (Fernet: AES-128-CBC with HMAC-SHA256), so a
copy of the database alone signs nothing.

FABU_SECRET_KEYS is a comma-separated list of Fernet keys (`fabu secret-key` prints a new
one). The first seals; every one opens, so a key is rotated by putting the new one first,
restarting (the delivery worker reseals every secret under it) and then dropping the old.
Without keys, secrets are stored as they are and the worker warns once at start.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.config import Settings

PREFIX = "fernet:"


class SecretUnavailable(Exception):
    """A sealed secret that none of the configured keys opens."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        fernets = [Fernet(k.encode()) for k in keys]
        self._primary = fernets[0] if fernets else None
        self._fernet = MultiFernet(fernets) if fernets else None

    @property
    def sealing(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        """What to store for `secret`."""
        if self._fernet is None:
            return secret
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret behind what is stored (a value from before sealing is returned as is)."""
        if not stored.startswith(PREFIX):
            return stored
        if self._fernet is None:
            raise SecretUnavailable("the secret is sealed and FABU_SECRET_KEYS is not set")
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretUnavailable("no key in FABU_SECRET_KEYS opens this secret") from None

    def reseal(self, stored: str) -> str | None:
        """`stored` sealed under the first key, or None when it already is (or no keys)."""
        if self._fernet is None or self._primary is None:
            return None
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        token = stored.removeprefix(PREFIX).encode()
        try:
            self._primary.decrypt(token)
            return None  # sealed under the first key already
        except InvalidToken:
            pass
        try:
            return PREFIX + self._fernet.rotate(token).decode()
        except InvalidToken:
            return None  # no key of ours opens it: left as it is, and sending says why


def generate_key() -> str:
    return Fernet.generate_key().decode()


def box_for(settings: Settings) -> SecretBox:
    raw = settings.secret_keys.get_secret_value() if settings.secret_keys else ""
    return _box(raw)


@lru_cache(maxsize=8)
def _box(raw: str) -> SecretBox:
    return SecretBox([k.strip() for k in raw.split(",") if k.strip()])
