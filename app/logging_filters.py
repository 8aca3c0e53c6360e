"""Keep secrets out of the logs: a token passed as ?token= must not reach the access log."""

from __future__ import annotations

import logging
import re

_TOKEN_PARAM = re.compile(r"([?&]token=)[^&\s]+")


def redact(text: str) -> str:
    return _TOKEN_PARAM.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """uvicorn.access logs (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
