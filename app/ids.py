"""Identifiers: a readable prefix, then a time-ordered random part."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    # Milliseconds first so ids sort roughly by creation; 64 random bits after.
    return f"{prefix}_{time.time_ns() // 1_000_000:011x}{secrets.token_hex(8)}"
