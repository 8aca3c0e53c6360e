"""The organs of Guizhou: seeded from the division list, resolved from routing answers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import invalid
from app.models import Division, Org
from app.rules.divisions import GUIAN_CODE, DivisionTree, load_divisions
from app.rules.routing import OrgRef


@dataclass(frozen=True)
class Department:
    key: str
    name_zh: str
    name_en: str


# Provincial departments that act as disposal authorities (RULES §2 defaults).
DEPARTMENTS = (
    Department(
        "emergency_management", "贵州省应急管理厅", "Guizhou Department of Emergency Management"
    ),
    Department("natural_resources", "贵州省自然资源厅", "Guizhou Department of Natural Resources"),
    Department("health_commission", "贵州省卫生健康委员会", "Guizhou Health Commission"),
    Department("public_security", "贵州省公安厅", "Guizhou Department of Public Security"),
)


@lru_cache(maxsize=1)
def tree() -> DivisionTree:
    with resources.files("app.data").joinpath("guizhou_divisions.csv").open(encoding="utf-8") as f:
        return load_divisions(csv.DictReader(f))


def check_division(code: str, field: str) -> None:
    """A 422 naming `field` unless the directory knows `code`; a place given by its name
    ("盘州市", "Panzhou") is answered with its code."""
    t = tree()
    if code in t:
        return
    wanted = code.strip().casefold()
    named = [
        d
        for d in t
        if wanted
        and (d.name_zh.startswith(code.strip()) or d.name_en.casefold().startswith(wanted))
    ]
    hint = "; ".join(f"{d.name_zh} ({d.name_en}) is {d.code}" for d in named[:5])
    raise invalid(
        field, f"unknown division code {code!r} (GB/T 2260)" + (f"; {hint}" if hint else "")
    )


def government_id(code: str) -> str:
    return f"gov-{code}"


def information_office_id(code: str) -> str:
    return f"io-{code}"


def department_id(key: str) -> str:
    return f"dept-{key}"


def org_id_for(ref: OrgRef, *, on_site_command_id: str | None) -> str:
    if ref.kind == "government":
        return government_id(ref.key)
    if ref.kind == "information_office":
        return information_office_id(ref.key)
    if ref.kind == "department":
        return department_id(ref.key)
    if on_site_command_id is None:
        raise ValueError("routing named an on-site command the incident does not have")
    return on_site_command_id


def jurisdiction_of(org: Org) -> frozenset[str]:
    """RULES §6: an organ sees its division and every division below it;
    provincial departments and the provincial information office see the province."""
    t = tree()
    return _descendants(t.province_code if org.kind == "department" else org.division_code)


@lru_cache(maxsize=256)
def _descendants(code: str) -> frozenset[str]:
    return tree().descendants(code)


def _government_names(zh: str, en: str, level: str) -> tuple[str, str, str, str]:
    if level == "province":
        return (
            "贵州省人民政府",
            "Guizhou Provincial People's Government",
            "贵州省人民政府新闻办公室",
            "Information Office of Guizhou Provincial People's Government",
        )
    if level == "new_area":
        return (
            f"{zh}管理委员会",
            f"{en} Administrative Committee",
            f"{zh}新闻办公室",
            f"{en} Information Office",
        )
    return (
        f"{zh}人民政府",
        f"{en} People's Government",
        f"{zh}人民政府新闻办公室",
        f"Information Office of {en} People's Government",
    )


def directory_rows() -> tuple[list[Division], list[Org]]:
    """Every division and the organs the service starts with, parents first."""
    t = tree()
    divisions: list[Division] = []
    orgs: list[Org] = []
    for d in t:
        divisions.append(
            Division(
                code=d.code,
                name_zh=d.name_zh,
                name_en=d.name_en,
                level=d.level,
                parent_code=d.parent_code,
            )
        )
        gov_zh, gov_en, io_zh, io_en = _government_names(d.name_zh, d.name_en, d.level)
        parent_gov = government_id(d.parent_code) if d.parent_code else None
        orgs.append(
            Org(
                id=government_id(d.code),
                name_zh=gov_zh,
                name_en=gov_en,
                kind="government",
                division_code=d.code,
                parent_id=parent_gov,
            )
        )
        orgs.append(
            Org(
                id=information_office_id(d.code),
                name_zh=io_zh,
                name_en=io_en,
                kind="information_office",
                division_code=d.code,
                parent_id=government_id(d.code),
            )
        )
    for dept in DEPARTMENTS:
        orgs.append(
            Org(
                id=department_id(dept.key),
                name_zh=dept.name_zh,
                name_en=dept.name_en,
                kind="department",
                division_code=t.province_code,
                parent_id=government_id(t.province_code),
                department_key=dept.key,
                routine_release=True,
            )
        )
    return divisions, orgs


async def seed(session: AsyncSession) -> int:
    """Insert what is missing; running it again changes nothing. Returns rows added."""
    divisions, orgs = directory_rows()
    have_div = set((await session.execute(select(Division.code))).scalars())
    have_org = set((await session.execute(select(Org.id))).scalars())
    added = 0
    for division in divisions:
        if division.code not in have_div:
            session.add(division)
            added += 1
    await session.flush()
    for org in orgs:
        if org.id not in have_org:
            session.add(org)
            added += 1
    await session.flush()
    return added


def resolve_org_argument(value: str) -> str:
    """An organ id, or a division code meaning that division's government (CLI, API.md)."""
    if value.isdigit() or value == GUIAN_CODE:
        return government_id(value)
    return value
