"""The i18n catalog: every key the service returns, in every language, and nothing else; and the
negotiation of the language from Accept-Language."""

import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import onboarding
from onboarding import i18n
from onboarding.errors import DomainError
from onboarding.features import Feature
from onboarding.state import WizardStep
from onboarding.tutorials import CATALOG as TUTORIALS

ROOT = Path(__file__).resolve().parents[2]


def seeded_checklist_task_ids() -> list[str]:
    """The checklist tasks migration 0002 seeds (their keys: onboarding.checklist.<id>[_desc])."""
    path = ROOT / "migrations" / "versions" / "0002_onboarding_tables.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [task[0] for task in module.CHECKLIST_TASKS]


def error_codes() -> set[str]:
    for module in pkgutil.iter_modules(onboarding.__path__):
        if module.name != "publisher":  # boto3 is only imported where events are sent
            importlib.import_module(f"onboarding.{module.name}")
    found: set[str] = set()
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        error = pending.pop()
        found.add(error.code)
        pending.extend(error.__subclasses__())
    return found - {DomainError.code}  # the abstract base's code is never sent


def used_keys() -> set[str]:
    keys = {f"errors.{code}" for code in error_codes()}
    for task in seeded_checklist_task_ids():
        keys |= {f"onboarding.checklist.{task}", f"onboarding.checklist.{task}_desc"}
    for tutorial in TUTORIALS.values():
        keys |= {tutorial.title_key, tutorial.description_key}
    keys |= {f"onboarding.wizard.{step.step_name}" for step in WizardStep}
    keys |= {f"onboarding.features.{feature.value}" for feature in Feature}
    return keys


def test_every_key_the_service_returns_is_in_the_catalog() -> None:
    assert sorted(used_keys() - set(i18n.catalog())) == []


def test_the_catalog_has_no_key_nothing_uses() -> None:
    assert sorted(set(i18n.catalog()) - used_keys()) == []


def test_every_key_has_a_text_in_every_language() -> None:
    missing = [
        (key, language)
        for key, texts in i18n.catalog().items()
        for language in i18n.LANGUAGES
        if not texts.get(language, "").strip()
    ]
    assert missing == []


def test_the_catalog_has_only_the_six_languages() -> None:
    assert {language for texts in i18n.catalog().values() for language in texts} == set(i18n.LANGUAGES)


def test_translations_are_not_copies_of_english() -> None:
    # A placeholder would repeat the English text; a few short words may coincide, not whole languages.
    for language in ("es", "fr", "pt", "zh-CN", "zh-TW"):
        same = [key for key, texts in i18n.catalog().items() if texts[language] == texts["en"]]
        assert len(same) <= 2, (language, same)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,es;q=0.5", "es"),  # the best supported one
        ("en;q=0.5,pt-BR", "pt"),  # by quality, not by order
        ("es;q=0.8,fr;q=0.8", "es"),  # equal quality: the first listed
        ("zh-TW", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("zh-HK", "zh-TW"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("de, ja", "en"),  # nothing supported: the fallback
        ("*", "en"),
        ("fr;q=0", "en"),  # q=0 means "not this one"
        ("fr;q=2", "en"),
        ("fr;q=abc, es", "es"),
        (";;;,\x00,fr", "fr"),  # malformed entries are ignored
        ("x" * 5000, "en"),
    ],
)
def test_the_language_is_negotiated_from_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_text_is_in_the_language_in_use_and_english_outside_a_request() -> None:
    key = "onboarding.features.sms_notifications"
    assert i18n.text(key) == "SMS notifications"
    with i18n.use("fr"):
        assert i18n.text(key) == "Notifications par SMS"
    assert i18n.current() == "en"
