"""Roles (strategy/access.py) and their enforcement in the catalog's write methods: the Python API and the CLI
refuse what a role does not allow, before anything is written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from strategy.access import NEEDS, Identity, Permission, RoleMap, local_identity
from strategy.catalog import Catalog
from strategy.cli import main
from strategy.errors import PermissionDenied, StrategyError
from strategy.models import CostTier, Dataset, Outcome, Task
from strategy.outcomes import log_outcome
from strategy.recommend import recommend_task
from strategy.rule_weights import set_rule_weights

TASK = "Card fraud detection"
VIEWER = Identity("vera@lab.org", "viewer", signed_in=True)
RESEARCHER = Identity("rami@lab.org", "researcher", signed_in=True)
ADMIN = Identity("ada@lab.org", "admin", signed_in=True)


def outcome(task_id: str) -> Outcome:
    return Outcome(task_id=task_id, n_human=10, n_synthetic=10, metric="AUPRC", value=0.5)


def writes(catalog: Catalog, task_id: str) -> dict:
    """One of every kind of write, each with what it needs."""
    outcome_id = catalog.outcomes(task_id)["id"].iloc[0]
    dataset = Dataset(name="New data", task_id=task_id, source_kind="human", modality="tabular", samples=10)
    return {
        "log outcomes": lambda: catalog.add_records("outcomes", [outcome(task_id)]),
        "delete an outcome": lambda: catalog.delete_outcomes([outcome_id]),
        "recompute": lambda: recommend_task(catalog, task_id),
        "edit a task": lambda: catalog.save_tasks([Task(name="Another", domain="D", modality="text", metric="m")]),
        "archive a task": lambda: catalog.set_task_status(task_id, "archived"),
        "register a dataset": lambda: catalog.add_records("datasets", [dataset]),
        "edit costs": lambda: catalog.add_records("cost_tiers", [CostTier(name="x", kind="human",
                                                                          cost_per_sample=1)]),
        "edit the rulebook": lambda: set_rule_weights(catalog, {"H-INTERACT": 2.0}),
        "maintain": lambda: catalog.maintain(),
    }


ALLOWED = {
    "viewer": set(),
    "researcher": {"log outcomes", "delete an outcome", "recompute"},
    "admin": {"log outcomes", "delete an outcome", "recompute", "edit a task", "archive a task",
              "register a dataset", "edit costs", "edit the rulebook", "maintain"},
}


@pytest.mark.parametrize("person", [VIEWER, RESEARCHER, ADMIN], ids=lambda p: p.role)
def test_each_role_writes_exactly_what_it_may(demo_path, person):
    with Catalog.open(demo_path) as opened:
        catalog = opened.acting_as(person)
        task_id = catalog.task(TASK).id
        for name, write in writes(catalog, task_id).items():
            before = opened.counts()
            if name in ALLOWED[person.role]:
                write()
                assert opened.counts()["audit_log"] > before["audit_log"], f"{name} left no audit entry"
            else:
                with pytest.raises(PermissionDenied, match=f"{person.user} is a {person.role}"):
                    write()
                assert opened.counts() == before, f"{name} wrote something while refused"


def test_writes_are_credited_to_the_acting_person(demo_path):
    with Catalog.open(demo_path) as opened:
        catalog = opened.acting_as(RESEARCHER)
        task_id = catalog.task(TASK).id
        catalog.add_records("outcomes", [outcome(task_id)])
        stored = recommend_task(catalog, task_id)
        assert stored.created_by == RESEARCHER.user
        assert catalog.audit_log(2)["actor"].tolist() == [RESEARCHER.user] * 2


def test_a_viewer_opening_through_the_python_api_cannot_log(demo_path):
    before = None
    with Catalog.open(demo_path, identity=VIEWER) as catalog:
        before = catalog.counts()
        with pytest.raises(PermissionDenied, match="needs the researcher role"):
            log_outcome(TASK, 100, 100, "AUPRC", 0.5, catalog=catalog)
        assert catalog.counts() == before


def test_local_mode_is_an_admin_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("STRATEGY_ROLE", raising=False)
    monkeypatch.setenv("STRATEGY_USER", "sam")
    assert local_identity() == Identity("sam", "admin")
    monkeypatch.setenv("STRATEGY_ROLE", "Viewer")
    assert local_identity().role == "viewer"
    monkeypatch.setenv("STRATEGY_ROLE", "owner")
    with pytest.raises(StrategyError, match="Unknown \\$STRATEGY_ROLE 'owner'"):
        local_identity()


def test_the_cli_obeys_the_role_from_the_environment(demo_path, monkeypatch, tmp_path):
    monkeypatch.setenv("STRATEGY_ROLE", "viewer")
    source = tmp_path / "one.csv"
    source.write_text(f"task,n_human,n_synthetic,metric,value\n{TASK},5,5,AUPRC,0.5\n")
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
    refused = CliRunner().invoke(main, ["--catalog", str(demo_path), "log", str(source)])
    assert refused.exit_code == 1
    assert "needs the researcher role" in refused.output and "Nothing was written" in refused.output
    read = CliRunner().invoke(main, ["--catalog", str(demo_path), "portfolio"])
    assert read.exit_code == 0 and TASK in read.output  # viewers still browse
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts() == before
    monkeypatch.setenv("STRATEGY_ROLE", "researcher")
    allowed = CliRunner().invoke(main, ["--catalog", str(demo_path), "log", "--no-recompute", str(source)])
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize(("email", "role"), [
    ("ada@lab.org", "admin"),          # named admin outranks their domain's researcher role
    ("rami@lab.org", "researcher"),    # by domain
    ("RAMI@LAB.ORG ", "researcher"),   # case and spaces do not matter
    ("pat@partner.com", "viewer"),     # everyone signed in
    ("", None),
    (None, None),
])
def test_role_map_gives_the_highest_matching_role(email, role):
    roles = RoleMap({"admin": ["ada@lab.org"], "researcher": ["@lab.org"], "viewer": "*"})
    assert roles.role_for(email) == role


def test_role_map_without_a_catch_all_leaves_strangers_out():
    roles = RoleMap({"researcher": ["@lab.org"]})
    assert roles.role_for("someone@elsewhere.net") is None
    assert roles.role_for("lab.org@elsewhere.net") is None


def test_role_map_refuses_an_unknown_role():
    with pytest.raises(StrategyError, match="Unknown role in the roles mapping 'owner'"):
        RoleMap({"owner": ["a@b.c"]})


def test_permissions_are_named_members_whose_values_are_what_messages_say():
    assert {permission.value for permission in Permission} == set(NEEDS)
    assert f"cannot {Permission.LOG_OUTCOMES}" == "cannot log outcomes"
    assert RESEARCHER.can(Permission.LOG_OUTCOMES) and RESEARCHER.can("log outcomes")  # the word works too
    with pytest.raises(ValueError):
        ADMIN.can("launch rockets")  # an unknown permission is an error, never a silent yes or no


def test_seeding_the_demo_needs_the_admin_role_whatever_the_audit_action_says(demo_path):
    """The extra permission is passed to the write, not read from its audit action's wording."""
    with Catalog.open(demo_path) as opened:
        catalog = opened.acting_as(RESEARCHER)
        task_id = catalog.task(TASK).id
        before = opened.counts()
        with pytest.raises(PermissionDenied, match="cannot administer the catalog"):
            catalog.write_batch({"outcomes": [outcome(task_id)]}, action="anything",
                                needs=[Permission.ADMINISTER_THE_CATALOG])
        assert opened.counts() == before
        assert catalog.write_batch({"outcomes": [outcome(task_id)]}, action="seed demo") == {"outcomes": 1}
