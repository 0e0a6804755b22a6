"""Drift is reported once, when a field first appears or goes missing, not on every run."""

from pelcro_sync.entities import get_entity
from pelcro_sync.transform.drift import Drift, describe, metadata

CUSTOMERS = get_entity("customers")


def test_without_a_baseline_every_undeclared_and_absent_field_is_reported():
    drift = Drift()
    drift.observe(CUSTOMERS, [{"id": 1, "email": "a@x", "x_extra": 1}])
    assert "x_extra" in drift.novel_new() and "first_name" in drift.novel_missing()
    assert drift


def test_fields_in_the_baseline_are_not_reported_again():
    drift = Drift()
    drift.remember({"new": ["x_extra"], "missing": ["first_name"]})
    drift.observe(CUSTOMERS, [{"id": 1, "x_extra": 1, "loyalty": "gold"}])
    assert dict(drift.novel_new()) == {"loyalty": 1}
    assert "first_name" not in drift.novel_missing() and "email" in drift.novel_missing()
    assert "x_extra" not in describe(drift, {})
    assert metadata(drift, {})["new_fields"] == ["loyalty"]


def test_nothing_novel_means_no_drift_but_untyped_values_still_show():
    drift = Drift()
    drift.remember({"new": ["x_extra"], "missing": list(CUSTOMERS.field_names)})
    drift.observe(CUSTOMERS, [{"id": 1, "x_extra": 2}])
    assert not drift
    assert describe(drift, {"last_login_at": 2}) == "untyped last_login_at (2)"


def test_fields_are_counted_per_record_whatever_the_mix_of_shapes():
    full = dict.fromkeys(CUSTOMERS.field_names, None) | {"id": 1}
    same = [dict(full, x_new=i) for i in range(5)]
    mixed = [*same, {"id": 9, "x_new": 1, "x_other": 2}, "not a record", dict(full)]
    drift = Drift()
    drift.observe(CUSTOMERS, same)  # one shape: counted at once
    assert dict(drift.new_fields) == {"x_new": 5} and not drift.missing_fields
    drift.observe(CUSTOMERS, mixed)  # several shapes, and a value that is no record
    assert dict(drift.new_fields) == {"x_new": 11, "x_other": 1}
    assert drift.missing_fields["email"] == 1  # only the short record lacks it
