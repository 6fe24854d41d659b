"""Lambda SnapStart (template parameter SnapStart=enabled): after a restore from the snapshot, the
engine and its connection are built anew.

Lambda runs the hooks registered with `snapshot_restore_py` (shipped in its managed Python runtimes)
after restoring an execution environment; these tests run them the same way.
"""

import pytest
import snapshot_restore_py
from sqlalchemy import Engine, func, select, text

import onboarding.api  # noqa: F401 (every API function imports it at initialization: it registers the hook)
from onboarding import container
from onboarding.db import get_engine, unit_of_work
from tools.template import functions, load_template


def run_after_restore_hooks() -> None:
    """What the runtime does once it has restored an execution environment from the snapshot."""
    for hook, args, kwargs in snapshot_restore_py.get_after_restore():
        hook(*args, **kwargs)


def backend_pid() -> int:
    with unit_of_work() as session:
        return int(session.execute(select(func.pg_backend_pid())).scalar_one())


def test_every_api_function_registers_the_after_restore_hook() -> None:
    hooks = [hook for hook, _args, _kwargs in snapshot_restore_py.get_after_restore()]
    assert container.after_restore in hooks


def test_after_a_restore_the_engine_and_its_connection_are_new(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The snapshot's connection is dead after a restore (its socket belonged to the snapshotted
    # environment); even a connection used moments before the snapshot is not pinged.
    monkeypatch.setenv("DB_PING_AFTER_IDLE_SECONDS", "3600")
    container.reset()
    snapshotted_engine = get_engine()
    snapshotted_pid = backend_pid()
    with engine.begin() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": snapshotted_pid})
    run_after_restore_hooks()
    assert get_engine() is not snapshotted_engine
    assert backend_pid() != snapshotted_pid  # the first request after the restore succeeds
    container.reset()


def test_the_api_functions_offer_snapstart_on_published_versions_behind_an_alias() -> None:
    template = load_template()
    resources = template["Resources"]
    for spec in functions().values():
        properties = resources[spec.logical_id]["Properties"]
        if not spec.routes:
            assert "SnapStart" not in properties, spec.logical_id
            continue
        assert properties["AutoPublishAlias"] == "live", spec.logical_id
        apply_on = properties["SnapStart"]["ApplyOn"]
        assert apply_on == {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}, spec.logical_id
    assert template["Parameters"]["SnapStart"]["Default"] == "disabled"
    assert template["Conditions"]["UseSnapStart"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "enabled"]}
