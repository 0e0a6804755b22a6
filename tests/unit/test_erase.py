"""Which values `forget` erases in one record: the registry's personal paths, only for the
customer's records and the customer's parts of others' records; ids and amounts never."""

import pytest

from pelcro_sync.entities import ENTITIES, PERSONAL, get_entity
from pelcro_sync.transform.erase import (
    Person,
    erasure_order,
    erasures,
    touched_columns,
    verdict,
    walk,
)

ME, OTHER = 5001, 5002
ME_PERSON = Person(ME, emails=frozenset({"jane@example.com"}))


def _apply(record: dict, paths: list) -> dict:
    """`record` with null at each path (what the warehouse does with jsonb_set)."""
    import copy

    out = copy.deepcopy(record)
    for path in paths:
        target = out
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = None
    return out


def test_a_customer_loses_names_email_phone_and_metadata_text_but_keeps_the_rest() -> None:
    record = {
        "id": ME, "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
        "name": "Jane Doe", "phone": "5145550000", "tin": "T-1", "created_at": 1616245118,
        "email_confirm": True, "organization": 40, "default_source_id": 61,
        "metadata": {"crm_id": "A1", "score": 3, "nested": {"note": "call her", "ok": True},
                     "tags": ["vip", 7]},
    }  # fmt: skip
    paths = erasures(get_entity("customers"), record, ME_PERSON, owned=True)
    erased = _apply(record, paths)
    assert erased == {
        **record, "email": None, "first_name": None, "last_name": None, "name": None,
        "phone": None, "tin": None,
        "metadata": {"crm_id": None, "score": 3, "nested": {"note": None, "ok": True},
                     "tags": [None, 7]},
    }  # fmt: skip
    assert erasures(get_entity("customers"), erased, ME_PERSON, owned=True) == []


def test_an_invoice_keeps_amounts_and_loses_the_embedded_customer_and_addresses() -> None:
    invoice = {
        "id": 9, "subscription_id": 77, "total": 3500, "amount_paid": 3500, "status": "paid",
        "customer": {"id": ME, "email": "jane@example.com", "first_name": "Jane"},
        "address_shipping": {"id": 3, "line1": "1 Main St", "city": "Montreal",
                             "country": "CA", "state": "QC"},
        "customer_shipping": {"name": "Jane", "address": {"line1": "1 Main St"}},
        "metadata": {"note": "left at the door"},
    }  # fmt: skip
    person = Person(ME, owned={"subscriptions": frozenset({77})})
    assert verdict(get_entity("invoices"), invoice, person) is True
    erased = _apply(invoice, erasures(get_entity("invoices"), invoice, person, owned=True))
    assert erased["customer"] == {"id": ME, "email": None, "first_name": None}
    assert erased["address_shipping"] == {"id": 3, "line1": None, "city": None,
                                          "country": "CA", "state": "QC"}  # fmt: skip
    assert erased["customer_shipping"] is None  # shape undocumented: erased whole
    assert erased["metadata"] == {"note": None}
    assert {k: erased[k] for k in ("id", "subscription_id", "total", "amount_paid", "status")} == {
        "id": 9,
        "subscription_id": 77,
        "total": 3500,
        "amount_paid": 3500,
        "status": "paid",
    }


def test_an_organization_loses_only_the_forgotten_member() -> None:
    org = {"id": 40, "name": "Acme", "customers": [
        {"id": OTHER, "email": "bob@example.com", "first_name": "Bob"},
        {"id": ME, "email": "jane@example.com", "first_name": "Jane"},
    ]}  # fmt: skip
    entity = get_entity("organizations")
    assert verdict(entity, org, ME_PERSON) is None
    paths = erasures(entity, org, ME_PERSON, owned=False)
    assert sorted(paths) == [("customers", 1, "email"), ("customers", 1, "first_name")]


@pytest.mark.parametrize(
    ("entity", "record", "person", "expected"),
    [
        ("addresses", {"user_id": ME}, ME_PERSON, True),
        ("addresses", {"user_id": str(ME)}, ME_PERSON, True),
        ("addresses", {"user_id": OTHER}, ME_PERSON, False),
        ("sources", {"customer": {"id": ME}}, ME_PERSON, True),
        ("charges", {"invoice_id": 9}, Person(ME, owned={"invoices": frozenset({9})}), True),
        ("charges", {"invoice_id": 8}, Person(ME, owned={"invoices": frozenset({9})}), False),
        ("charges", {"customer_id": OTHER, "invoice_id": 9},
         Person(ME, owned={"invoices": frozenset({9})}), False),
        ("newsletters", {"email": " JANE@example.com"}, ME_PERSON, True),
        ("newsletters", {"email": "bob@example.com"}, ME_PERSON, False),
        ("newsletters", {"email": None}, ME_PERSON, None),
        ("subscriptions", {"user_id": True}, ME_PERSON, None),
    ],
    ids=["owner", "owner-as-text", "other-owner", "embedded-owner", "via", "via-other",
         "owner-beats-via", "contact-any-case", "contact-other", "no-contact", "bool-no-id"],
)  # fmt: skip
def test_verdict(entity: str, record: dict, person: Person, expected: bool | None) -> None:
    assert verdict(get_entity(entity), record, person) is expected


def test_someone_elses_record_embedded_in_the_customers_is_left_alone() -> None:
    """A membership of the customer whose embedded group subscription is another's."""
    membership = {"id": 1, "user_id": ME, "invitation_email": "jane@example.com",
                  "subscription": {"id": 2, "user_id": OTHER, "metadata": {"k": "v"}}}  # fmt: skip
    paths = erasures(get_entity("memberships"), membership, ME_PERSON, owned=True)
    assert paths == [("invitation_email",)]


def test_an_unowned_record_loses_nothing() -> None:
    record = {"id": 3, "user_id": OTHER, "line1": "2 Side St", "phone": "555"}
    assert erasures(get_entity("addresses"), record, ME_PERSON, owned=False) == []


def test_personal_paths_never_name_ids_amounts_dates_or_statuses() -> None:
    kept_kinds = {"bigint", "numeric", "timestamp", "boolean"}
    for name, spec in PERSONAL.items():
        entity = get_entity(name)
        kinds = {f.name: f.kind for f in entity.fields}
        for path in (*spec.erase, *spec.free_text, *(p for p, _ in spec.embeds)):
            head = path.split(".")[0]
            assert head not in ("id", "site_id", "status", "currency"), (name, path)
            if path in spec.erase or path in spec.free_text:
                assert kinds.get(head) not in kept_kinds, (name, path)


def test_an_embed_path_holding_an_id_keeps_it() -> None:
    """`subscriptions.address` is an id, an object only when expanded: only objects are
    entered, so the id stays."""
    record = {"id": 1, "user_id": ME, "address": 19, "default_source": 61, "metadata": {}}
    assert erasures(get_entity("subscriptions"), record, ME_PERSON, owned=True) == []


def test_erasure_order_puts_customers_first_and_links_before_their_users() -> None:
    order = [e.name for e in erasure_order()]
    assert order[0] == "customers"
    assert order.index("subscriptions") < order.index("invoices") < order.index("charges")
    assert order.index("charges") < order.index("refunds")
    assert set(order) == {e.name for e in ENTITIES if e.personal.any}


def test_touched_columns_are_the_declared_fields_a_path_starts_in() -> None:
    assert set(touched_columns(get_entity("sources"))) == {"name", "customer"}
    assert "user_id" not in touched_columns(get_entity("addresses"))
    assert touched_columns(get_entity("plans")) == ()


def test_walk_expands_stars_and_skips_missing_keys() -> None:
    record = {"a": [{"b": 1}, {"c": 2}, {"b": 3}], "d": None}
    assert list(walk(record, "a.*.b")) == [(("a", 0, "b"), 1), (("a", 2, "b"), 3)]
    assert list(walk(record, "d.x")) == []
    assert list(walk(record, "a.b")) == []
