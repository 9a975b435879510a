"""Random request bodies against the API: always a JSON answer, never a server error."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stammgast.customers.validation import CLEANERS

from .helpers import patch_json

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=260),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=2),
)
bodies = st.dictionaries(st.sampled_from(["number", *CLEANERS]), values, max_size=5)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(body=bodies)
def test_random_creations_never_fail_on_our_side(tenant, make_api, body):
    api = make_api(tenant, ("pos", "thirdparty"), name="Zufall")
    response = api.post(
        "/api/v1/customers",
        json.dumps({"last_name": "A", **body}),
        content_type="application/json",
    )
    assert response.status_code in (201, 400, 403, 409, 422), (body, response.content[:400])
    assert response.json()


@SETTINGS
@given(body=bodies)
def test_random_changes_never_fail_on_our_side(tenant, make_api, admin_actor, body):
    from stammgast.customers import services

    api = make_api(tenant, ("pos", "thirdparty"), name="Zufall")
    customer = services.create_customer(actor=admin_actor, data={"last_name": "A"})
    response = patch_json(api, f"/api/v1/customers/{customer.number}", body, etag=customer.etag)
    assert response.status_code in (200, 400, 403, 409, 422), (body, response.content[:400])
