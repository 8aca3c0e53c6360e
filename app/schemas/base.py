"""What every request body shares: no unknown fields, no invisible characters, sane times."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.rules.levels import Level

# C0 control characters other than tab, line feed and carriage return, and UTF-16 surrogates
# standing alone (JSON can spell one as "\ud800"): PostgreSQL text cannot hold a NUL at all,
# a lone surrogate cannot be encoded as UTF-8 by either database, and none of them belongs
# in a title, a name or an id. SQLite would keep them, so the refusal must come first.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

BEIJING = timezone(timedelta(hours=8))
# Nothing this service records can be older than the People's Republic (1949-10-01, Beijing
# time): every organ of its directory and the Measures came later, so an earlier time is a
# slip such as a year typed as 0001 (which also overflows when moved to another offset).
EARLIEST = datetime(1949, 10, 1, tzinfo=BEIJING)
# The last year the annual report serves; no deadline set here reaches that far, and it
# keeps a time well clear of year 9999, where adding a window or an offset overflows.
LATEST = datetime(2101, 1, 1, tzinfo=BEIJING)


def unprintable(text: str) -> str | None:
    """Why `text` cannot be taken (a message for the caller), or None when it can."""
    found = _UNPRINTABLE.search(text)
    if found is None:
        return None
    char = found.group()
    what = "an unpaired surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {what} (U+{ord(char):04X})"


def _strings(data: Any) -> list[str]:
    """Every string in raw JSON-like `data`, dict keys too, in no particular order."""
    found: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(key for key in value if isinstance(key, str))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _first_unprintable(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The location and reason of the first string in raw JSON-like `data` that cannot be
    taken, looking into dict keys too. Iterative: a deeply nested body must not recurse."""
    # Nearly every body is clean, and one search over all its strings at once says so for
    # less than half the cost of the walk below, which builds the path of every value it
    # passes: only a refused body pays for that. (A nested Strict model looks at its part
    # again; at this cost, not worth a way around.)
    if _UNPRINTABLE.search("".join(_strings(data))) is None:
        return None
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            reason = unprintable(value)
            if reason:
                return loc, reason
        elif isinstance(value, dict):
            children: list[tuple[tuple[str | int, ...], Any]] = []
            for key, item in value.items():
                if isinstance(key, str):
                    reason = unprintable(key)
                    if reason:
                        return loc, "a key " + reason
                children.append(((*loc, key), item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in reversed(list(enumerate(value))))
    return None


class Strict(BaseModel):
    """The base of every request body: unknown fields are refused, not ignored, and so is
    any string holding a character no database or reader can take."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _printable(cls, data: Any) -> Any:
        found = _first_unprintable(data)
        if found is not None:
            loc, reason = found
            error = PydanticCustomError("unprintable", "{reason}", {"reason": reason})
            raise ValidationError.from_exception_data(
                cls.__name__, [InitErrorDetails(type=error, loc=loc, input=data)]
            )
        return data


def _on_record(value: datetime) -> datetime:
    if value < EARLIEST:
        raise PydanticCustomError(
            "time_too_early",
            "is before 1949-10-01 (Beijing time); nothing recorded here is older",
        )
    if value >= LATEST:
        raise PydanticCustomError(
            "time_too_late", "is after 2100; nothing recorded here is that far ahead"
        )
    return value


# A time with an offset, within the span anything recorded here can have.
Moment = Annotated[AwareDatetime, AfterValidator(_on_record)]


def _compatibility_fold(value: Any) -> Any:
    # Chinese input methods type full-width digits (５２０２８１) and the Roman-numeral
    # characters of printed documents (Ⅱ级); NFKC folds both into the ASCII the API names.
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


# A GB/T 2260 division code as typed by a person.
DivisionCode = Annotated[
    str, BeforeValidator(_compatibility_fold), Field(min_length=1, max_length=12)
]
# A severity level (I-IV), also as Ⅰ-Ⅳ.
LevelName = Annotated[Level, BeforeValidator(_compatibility_fold)]
