"""Fixtures of the customer tests: customers made through the service, pictures in tmp."""

from __future__ import annotations

import pytest

from stammgast.customers import services


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded pictures go to a temporary directory, never into the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_customer(admin_actor):
    """Create a customer through the service as the tenant's operator."""

    def make(**data):
        data.setdefault("last_name", "Müller")
        return services.create_customer(actor=admin_actor, data=data)

    return make
