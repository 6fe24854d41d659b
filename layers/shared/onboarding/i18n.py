"""Localized text for the keys the service returns, in the data model's six languages.

Every response keeps its keys (`title_key`, `description_key`, `name_key`, error `code`) and adds the
text for the request's language: the best of `LANGUAGES` for its `Accept-Language` header (RFC 9110
quality values; `pt-BR` → `pt`, `zh-Hant`/`zh-TW`/`zh-HK`/`zh-MO` → `zh-TW`, other `zh` → `zh-CN`),
English when none matches. The catalog is `locales/messages.json` (key → language → text); a test
fails when a key lacks a language or nothing uses a key (tests/unit/test_i18n.py).

The language is per request: `api` sets it (`use`) around each invocation, so the domain modules
localize with `text(key)` without passing it down.
"""

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final, Literal

Language = Literal["en", "es", "fr", "pt", "zh-CN", "zh-TW"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "es", "fr", "pt", "zh-CN", "zh-TW")
DEFAULT: Final[Language] = "en"
CATALOG_FILE: Final = Path(__file__).parent / "locales" / "messages.json"
# A client cannot make negotiation expensive: longer headers are read up to this length.
MAX_HEADER_LENGTH: Final = 1000

_language: ContextVar[Language] = ContextVar("language", default=DEFAULT)
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*$")
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


@cache
def catalog() -> Mapping[str, Mapping[str, str]]:
    with CATALOG_FILE.open(encoding="utf-8") as file:
        loaded: dict[str, dict[str, str]] = json.load(file)
    return loaded


def negotiate(accept_language: str | None) -> Language:
    """The language of `LANGUAGES` the header prefers most (the first listed among equals), else en."""
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate((accept_language or "")[:MAX_HEADER_LENGTH].split(",")):
        match = _RANGE.match(item)
        if match is None:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        language = _supported(match.group(1))
        if language is None or not 0 < quality <= 1:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, language)
    return best[2] if best is not None else DEFAULT


def _supported(tag: str) -> Language | None:
    tag = tag.lower()
    if tag == "*":
        return DEFAULT
    primary = tag.split("-")[0]
    if primary == "zh":
        return "zh-TW" if tag.startswith(_TRADITIONAL) else "zh-CN"
    for language in LANGUAGES:
        if primary == language:
            return language
    return None


@contextmanager
def use(language: Language) -> Iterator[None]:
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


def current() -> Language:
    return _language.get()


def text(key: str) -> str:
    """`key` in the request's language (en when that text is missing; the key itself if unknown)."""
    entry = catalog().get(key)
    if entry is None:
        return key
    return entry.get(current()) or entry[DEFAULT]
