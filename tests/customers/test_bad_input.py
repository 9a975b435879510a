"""Bad input anywhere in the API gets a clear 4xx JSON answer with a code, never a 500."""

import json

import pytest

from stammgast.customers.models import Customer

from .helpers import png, post_json, put_picture


@pytest.fixture(autouse=True)
def _in_tenant(admin_actor):
    """The test body reads the tenant's tables directly."""


@pytest.fixture
def one(make_customer):
    return make_customer(city="Bonn")


def clear_4xx(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    body = response.json()
    assert body["code"]
    assert body["message"]
    return body


def raw(client, method, url, body: bytes | str, **headers):
    return getattr(client, method)(url, body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    "body",
    [
        "{bad json",
        "",
        "[1, 2]",
        '"Müller"',
        "null",
        "42",
        '{"last_name": "M\\ud800"}',
        b'{"last_name": "\xff\xfe"}',
        '{"last_name": "A", "discount": NaN}',
        '{"last_name": "A", "discount": 1e400}',
        '{"last_name": "A", "discount": -Infinity}',
        '{"last_name": "A", "number": 123456789012345678901234567890}',
        '{"last_name": "A", "price_level": 99999999999999999999}',
        '{"last_name": "A", "features": [1, 2]}',
        '{"last_name": "A", "features": {"nope": 1}}',
        '{"last_name": "A", "groups": {"a": 1}}',
        '{"last_name": "A", "groups": [1, 2]}',
        '{"last_name": "A", "tags": "vegan"}',
        '{"last_name": "A", "allowed_locations": [null]}',
        '{"last_name": {"first": "A"}}',
        '{"last_name": ["A"]}',
        '{"last_name": "A", "date_of_birth": 19800101}',
        '{"last_name": "A", "date_of_birth": "99999-01-01"}',
        '{"last_name": "A", "kind": null}',
        '{"last_name": "A", "email": "a@b.de\\u0000"}',
        '{"last_name": "A", "homepage": "javascript:alert(1)"}',
        '{"last_name": "A", "vat_id": "123"}',
        '{"last_name": "A", "blocked": "true"}',
        '{"last_name": "A", "comments": "x\\u0000y"}',
    ],
)
def test_bad_create_bodies(pos_api, body):
    clear_4xx(raw(pos_api, "post", "/api/v1/customers", body))
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "{bad json",
        "[]",
        '{"discount": 1e400}',
        '{"features": "x"}',
        '{"number": "abc"}',
        '{"kind": "business"}',
        '{"shoe_size": 43}',
    ],
)
def test_bad_change_bodies(pos_api, one, body):
    clear_4xx(raw(pos_api, "patch", "/api/v1/customers/1", body, HTTP_IF_MATCH='"1-1"'))
    customer = Customer.objects.get()
    assert (customer.city, customer.version) == ("Bonn", 1)


def test_a_text_field_too_long_for_its_column_is_refused(pos_api):
    body = clear_4xx(post_json(pos_api, "/api/v1/customers", {"last_name": "x" * 5000}))
    assert "last_name" in body["fields"]
    # 199 characters; with the https:// that is added it no longer fits.
    homepage = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + ".example"
    body = clear_4xx(
        post_json(pos_api, "/api/v1/customers", {"last_name": "A", "homepage": homepage})
    )
    assert "homepage" in body["fields"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/abc",
        "/api/v1/customers/1.5",
        "/api/v1/customers/-1",
        "/api/v1/customers/99999999999999999999999",
        "/api/v1/customers/0",
        "/api/v1/customers/99999999999999999999999/history",
        "/api/v1/customers/abc/history",
    ],
)
def test_odd_paths_are_404(pos_api, one, url):
    response = pos_api.get(url)
    assert response.status_code == 404, response.content[:300]


def test_huge_number_in_the_path_of_a_change_is_404(pos_api, one):
    response = raw(
        pos_api,
        "patch",
        "/api/v1/customers/99999999999999999999",
        '{"city": "X"}',
        HTTP_IF_MATCH='"99999999999999999999-1"',
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"blocked": "maybe"},
        {"limit": "ten"},
        {"q": "a"},
        {"cursor": "%%%"},
        {"q": "mül\x00ler"},
        {"q": "\x00\x00\x00"},
        {"group": "a\x00b"},
        {"location": "\x00"},
        {"tag": "x\x00"},
    ],
)
def test_bad_list_parameters(pos_api, one, params):
    response = pos_api.get("/api/v1/customers", params)
    if response.status_code == 200:
        assert response.json()["items"] == []
    else:
        clear_4xx(response)


@pytest.mark.parametrize("position", [{"number": 10**30}, {"number": -(10**30)}, {"id": 10**30}])
def test_cursors_with_huge_numbers(pos_api, one, position):
    from stammgast.customers.selectors import encode_cursor

    cursor = encode_cursor(position)
    for url in ("/api/v1/customers", "/api/v1/customers/1/history"):
        response = pos_api.get(url, {"cursor": cursor})
        if response.status_code != 200:
            clear_4xx(response)


@pytest.mark.parametrize("query", ["q=m%C3%BCl%ED%A0%80", "q=%FF%FE%FD", "q=%00%00%00", "q=%"])
def test_broken_percent_encoding(pos_api, one, query):
    response = pos_api.get(f"/api/v1/customers?{query}")
    if response.status_code != 200:
        clear_4xx(response)


@pytest.mark.parametrize(
    "params",
    [
        {"phone": "\x00"},
        {"phone": "x" * 10_000},
        {"phone": "+" + "9" * 100},
        {"email": "a\x00@b.de"},
        {"email": "x" * 10_000},
        {"card": "\x00"},
        {"card": "c" * 10_000},
        {},
        {"phone": "0151", "card": "x"},
    ],
)
def test_bad_lookups(pos_api, one, params):
    response = pos_api.get("/api/v1/customers/lookup", params)
    if response.status_code == 200:
        assert response.json() == []
    else:
        clear_4xx(response)


@pytest.mark.parametrize("etag", ['"1-99999999999999999999999"', '"1-"', '"-1"', "*", " ", "W/"])
def test_odd_if_match_headers(pos_api, one, etag):
    response = raw(pos_api, "patch", "/api/v1/customers/1", '{"city": "X"}', HTTP_IF_MATCH=etag)
    assert response.status_code in (412, 428), response.content
    assert Customer.objects.get().city == "Bonn"


@pytest.mark.parametrize("key", ["", " ", "ä" * 10, "k" * 200])
def test_odd_idempotency_keys(pos_api, key):
    response = post_json(pos_api, "/api/v1/customers", {"last_name": "A"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content


# --- pictures --------------------------------------------------------------------------


def test_a_real_picture_is_stored_and_removed(pos_api, one):
    response = put_picture(pos_api, "/api/v1/customers/1/picture", png())
    assert response.status_code == 200, response.content
    url = response.json()["picture_url"]
    assert response.json()["version"] == 2
    shown = pos_api.get(url)
    assert shown.status_code == 200
    assert b"".join(shown.streaming_content) == png()
    removed = pos_api.delete("/api/v1/customers/1/picture")
    assert removed.status_code == 200
    assert removed.json()["picture_url"] is None
    history = pos_api.get("/api/v1/customers/1/history").json()["items"]
    assert [e["changes"] for e in history[:2]] == [
        {"picture": [True, False]},
        {"picture": [False, True]},
    ]


def test_a_replaced_or_removed_picture_file_is_deleted(
    pos_api, one, settings, django_capture_on_commit_callbacks
):
    from pathlib import Path

    def files():
        return sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())

    with django_capture_on_commit_callbacks(execute=True):
        put_picture(pos_api, "/api/v1/customers/1/picture", png())
    [first] = files()
    assert first.endswith(".png")
    # The stored name does not reveal the tenant or the customer number.
    assert "1-1" not in first
    with django_capture_on_commit_callbacks(execute=True):
        put_picture(pos_api, "/api/v1/customers/1/picture", png(color=(0, 0, 255)))
    [second] = files()
    assert second != first
    with django_capture_on_commit_callbacks(execute=True):
        pos_api.delete("/api/v1/customers/1/picture")
    assert files() == []


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"this is not a picture", "face.png"),
        (b"", "face.png"),
        (b"%PDF-1.4 not an image", "doc.pdf"),
        (png()[:40], "broken.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "face.svg"),
    ],
)
def test_a_file_that_is_not_a_picture_is_refused(pos_api, one, content, name):
    body = clear_4xx(put_picture(pos_api, "/api/v1/customers/1/picture", content, name=name))
    assert "picture" in body["fields"]
    assert not Customer.objects.get().picture


def test_a_picture_in_another_format_is_refused(pos_api, one):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="BMP")
    body = clear_4xx(
        put_picture(pos_api, "/api/v1/customers/1/picture", buffer.getvalue(), name="face.bmp")
    )
    assert "picture" in body["fields"]


def test_a_too_large_picture_is_refused(pos_api, one, settings):
    settings.CUSTOMER_PICTURE_MAX_BYTES = 1024 * 1024
    big = png(size=(1200, 1200)) + b"\0" * (1024 * 1024)
    body = clear_4xx(put_picture(pos_api, "/api/v1/customers/1/picture", big))
    assert body["code"] == "picture_too_large"
    assert "picture" in body["fields"]
    assert not Customer.objects.get().picture


def test_a_picture_with_too_many_pixels_is_refused(pos_api, one, settings):
    settings.CUSTOMER_PICTURE_MAX_PIXELS = 100 * 100
    body = clear_4xx(put_picture(pos_api, "/api/v1/customers/1/picture", png(size=(200, 200))))
    assert "picture" in body["fields"]


def test_a_picture_upload_without_a_file_is_refused(pos_api, one):
    clear_4xx(pos_api.put("/api/v1/customers/1/picture"))
    clear_4xx(pos_api.post("/api/v1/customers/1/picture", {"other": "x"}))


def test_a_huge_body_is_refused_cleanly(tenant, make_api):
    reservations = make_api(tenant, ("thirdparty",), name="Reservierung")
    # A million umlauts escaped as \\u00fc: about 6 MB of JSON.
    body = json.dumps({"last_name": "A", "third_party_memo": "ü" * 1_000_000})
    response = raw(reservations, "post", "/api/v1/customers", body)
    if response.status_code != 201:
        clear_4xx(response)


def test_a_body_above_the_limit_is_a_413_and_creates_nothing(tenant, make_api):
    reservations = make_api(tenant, ("thirdparty",), name="Reservierung")
    body = json.dumps({"last_name": "A", "third_party_memo": "ü" * 1_500_000})
    response = raw(reservations, "post", "/api/v1/customers", body)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert reservations.get("/api/v1/customers").json()["items"] == []
