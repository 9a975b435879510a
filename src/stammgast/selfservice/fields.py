"""The fields of the guests' data form and how a tenant may use each."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .models import FieldUse

# In the form's order: (customer field, label). Payment data, blocks, memos and the like
# are the business's, never the guest's (tenants.actor.GUEST_FIELDS).
FORM_FIELDS: list[tuple[str, object]] = [
    ("title", _("Title")),
    ("first_name", _("First name")),
    ("last_name", _("Name")),
    ("company_name", _("Company")),
    ("gender", _("Gender")),
    ("date_of_birth", _("Date of birth")),
    ("street", _("Street/No.")),
    ("care_of", _("c/o")),
    ("postcode", _("Postcode")),
    ("city", _("Place")),
    ("po_box", _("PO box")),
    ("country", _("Country")),
    ("mobile", _("Mobile phone")),
    ("phone_private", _("Telephone private")),
    ("phone_business", _("Telephone business")),
]
FIELD_NAMES = [name for name, _label in FORM_FIELDS]

# What a tenant that set nothing asks: a name (stammgast keeps no customer without one),
# the address and a phone if the guest likes.
DEFAULT_USE: dict[str, str] = {
    "title": FieldUse.OPTIONAL,
    "first_name": FieldUse.REQUIRED,
    "last_name": FieldUse.REQUIRED,
    "company_name": FieldUse.HIDDEN,
    "gender": FieldUse.OPTIONAL,
    "date_of_birth": FieldUse.OPTIONAL,
    "street": FieldUse.OPTIONAL,
    "care_of": FieldUse.HIDDEN,
    "postcode": FieldUse.OPTIONAL,
    "city": FieldUse.OPTIONAL,
    "po_box": FieldUse.HIDDEN,
    "country": FieldUse.OPTIONAL,
    "mobile": FieldUse.OPTIONAL,
    "phone_private": FieldUse.OPTIONAL,
    "phone_business": FieldUse.HIDDEN,
}
# An optional field of the self-service form holds at most this many characters (the
# customer's own limits apply besides).
OPTIONAL_MAX = 200


def field_uses(configured: dict) -> dict[str, str]:
    """Every form field's use: the tenant's setting, else the default."""
    return {
        name: configured.get(name) if configured.get(name) in FieldUse.values else DEFAULT_USE[name]
        for name in FIELD_NAMES
    }
