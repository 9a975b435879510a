"""Cross-cutting pieces: text folding for search, domain errors, the active tenant."""

import pytest

from stammgast.core.errors import Conflict, DomainError, FieldErrors, NotFound
from stammgast.core.tenancy import (
    TenantNotActive,
    active_tenant,
    active_tenant_or_none,
    tenant_scope,
)
from stammgast.core.text import fold, search_form


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Straße", "strasse"),
        ("Zoë Lefèvre", "zoe lefevre"),
        ("Ærø", "ærø"),
        ("", ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("Müller", "muller"),
        ("Mueller", "muller"),
        ("MUELLER", "muller"),
        ("Muller", "muller"),
        ("Weiß", "weiss"),
        ("Köln", "koln"),
        ("Koeln", "koln"),
        ("Bäckerei Schröder", "backerei schroder"),
        ("Baeckerei Schroeder", "backerei schroder"),
        ("Zoë", "zo"),
        ("Bonn", "bonn"),
        ("", ""),
    ],
)
def test_search_form(text, form):
    assert search_form(text) == form


def test_domain_error_names_fields_and_reads_well():
    err = DomainError(
        "invalid", "Some fields are not valid.", fields={"discount": "Too big."}, status=422
    )
    assert err.status == 422
    assert err.as_dict() == {
        "code": "invalid",
        "message": "Some fields are not valid.",
        "fields": {"discount": ["Too big."]},
    }
    assert str(err) == "Some fields are not valid. (discount: Too big.)"
    assert NotFound().status == 404
    assert Conflict("x", "y").status == 409


def test_field_errors_collect_then_raise_together():
    errors = FieldErrors()
    errors.raise_if_any()
    errors.add("a", "one")
    errors.add("a", "two")
    errors.add("b", "three")
    with pytest.raises(DomainError) as err:
        errors.raise_if_any()
    assert err.value.fields == {"a": ["one", "two"], "b": ["three"]}
    assert err.value.status == 422


def test_tenant_scope_nests_and_always_resets(tenant, other_tenant):
    assert active_tenant_or_none() is None
    with pytest.raises(TenantNotActive):
        active_tenant()
    with tenant_scope(tenant):
        assert active_tenant() == tenant
        with tenant_scope(other_tenant):
            assert active_tenant() == other_tenant
        assert active_tenant() == tenant
        with pytest.raises(RuntimeError), tenant_scope(other_tenant):
            raise RuntimeError
        assert active_tenant() == tenant
    assert active_tenant_or_none() is None


def test_an_api_request_leaves_no_tenant_active(tenant, pos_api):
    assert pos_api.get("/api/v1/customers").status_code == 200
    assert active_tenant_or_none() is None
