"""Staff users: passwords hashed with argon2, roles per tenant and per location."""

from stammgast.core.tenancy import tenant_scope
from stammgast.tenants import services
from stammgast.tenants.models import Membership

PASSWORD = "Kaffee-und-Kuchen-42"


def test_password_is_hashed_with_argon2(tenant):
    user = services.create_staff_user(
        tenant=tenant, username="petra", password=PASSWORD, role="tenant_admin"
    )
    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password


def test_location_bound_staff_acts_at_its_location(tenant, location):
    user = services.create_staff_user(
        tenant=tenant, username="petra", password=PASSWORD, role="cashier", location=location
    )
    actor = services.staff_actor(user)
    assert (actor.tenant, actor.location, actor.role) == (tenant, location, "cashier")
    assert actor.location_bound
    assert actor.can("customers.change")
    assert not actor.can("customers.change_payment")


def test_tenant_wide_membership_wins_on_every_database(tenant, location):
    user = services.create_staff_user(
        tenant=tenant, username="petra", password=PASSWORD, role="cashier", location=location
    )
    with tenant_scope(tenant):
        Membership.objects.create(tenant=tenant, user=user, role="tenant_admin")
    actor = services.staff_actor(user)
    assert actor.role == "tenant_admin"
    assert actor.location is None
    assert not actor.location_bound
    at_location = services.staff_actor(user, location_code="mitte")
    assert (at_location.role, at_location.location) == ("cashier", location)


def test_a_user_without_membership_has_no_actor(db, django_user_model):
    user = django_user_model.objects.create_user(username="fremd", password=PASSWORD)
    assert services.staff_actor(user) is None


def test_staff_and_keys_cannot_be_bound_to_another_tenants_location(tenant, other_tenant):
    import pytest

    from stammgast.core.errors import DomainError
    from stammgast.tenants.models import ApiClient

    foreign = services.create_location(tenant=other_tenant, code="mitte", name="Mitte")
    with pytest.raises(DomainError) as err:
        services.create_staff_user(
            tenant=tenant, username="petra", password=PASSWORD, role="cashier", location=foreign
        )
    assert "location" in err.value.fields
    with pytest.raises(DomainError):
        services.create_api_key(tenant=tenant, name="Kasse", scopes=["pos"], location=foreign)
    assert not Membership.all_tenants.exists()
    assert not ApiClient.all_tenants.exists()
