"""Portal forms for customers: the list filter and one form per register of the record.

The forms only collect what was typed; every rule is checked by the customer services,
whose DomainError names the same fields as these forms, so its messages land next to the
field they are about.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from stammgast.core.errors import DomainError
from stammgast.core.forms import DomainErrorsMixin
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location, PaymentMethod

from . import services
from .filters import SORTS, CustomerFilter, consent_purposes, parse_filter
from .models import Customer, CustomerGroup, CustomerKind, FeatureDefinition, FeatureType, Gender
from .validation import BLOCK_FIELDS, PAYMENT_FIELDS, country_choices, country_name

# --- customer list filter --------------------------------------------------------------

YES_NO_ANY = [("", _("all")), ("true", _("yes")), ("false", _("no"))]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CustomerFilterForm(forms.Form):
    """The list's search and filters; the parameter names are those of CustomerFilter."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "placeholder": _("Name, number, place, e-mail, phone …"),
            }
        ),
    )
    group = forms.ChoiceField(label=_("Customer group"), required=False)
    price_level = forms.IntegerField(
        label=_("Price level"), required=False, min_value=1, max_value=99
    )
    blocked = forms.ChoiceField(label=_("Blocked"), required=False, choices=YES_NO_ANY)
    newsletter = forms.ChoiceField(label=_("Newsletter"), required=False, choices=YES_NO_ANY)
    consent = forms.ChoiceField(label=_("Consent given"), required=False)
    location = forms.ChoiceField(label=_("Location"), required=False)
    tag = forms.CharField(label=_("Tag"), required=False)
    created_from = forms.DateField(label=_("Created from"), required=False, widget=DATE_INPUT)
    created_to = forms.DateField(label=_("Created until"), required=False, widget=DATE_INPUT)
    changed_from = forms.DateField(label=_("Changed from"), required=False, widget=DATE_INPUT)
    changed_to = forms.DateField(label=_("Changed until"), required=False, widget=DATE_INPUT)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for s in SORTS], widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", _("all"))] + [
            (n, n) for n in CustomerGroup.objects.order_by("name").values_list("name", flat=True)
        ]
        self.fields["consent"].choices = [("", _("any"))] + consent_purposes()
        self.fields["location"].choices = [("", _("all"))] + [
            (code, name)
            for code, name in Location.objects.order_by("name").values_list("code", "name")
        ]

    def full_clean(self) -> None:
        """Checked by the one filter parser (filters.py), not by the fields: the list
        shows the same messages as the API. A bad parameter (shown with its error) drops
        out; the valid ones still filter."""
        self._errors = ErrorDict()
        self.cleaned_data = {}
        data = {k: v for k, v in self.data.items() if k != "cursor"} if self.is_bound else {}
        try:
            self.filter = parse_filter(data)
        except DomainError as exc:
            for name, messages in exc.fields.items():
                key = name if name in self.fields else NON_FIELD_ERRORS
                self._errors.setdefault(key, self.error_class()).extend(messages)
            self.filter = parse_filter({k: v for k, v in data.items() if k not in exc.fields})

    def to_filter(self) -> CustomerFilter:
        self.full_clean()
        return self.filter


capfirst_lazy = lazy(capfirst, str)

# --- register forms --------------------------------------------------------------------


def _label(name: str):
    return capfirst_lazy(Customer._meta.get_field(name).verbose_name)


def text(name: str, **attrs) -> forms.CharField:
    return forms.CharField(
        label=_label(name), required=False, strip=False, widget=forms.TextInput(attrs=attrs)
    )


def long_text(name: str, **attrs) -> forms.CharField:
    return forms.CharField(
        label=_label(name),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, **attrs}),
    )


def flag(name: str) -> forms.BooleanField:
    return forms.BooleanField(label=_label(name), required=False)


def pick(name: str, choices, *, blank: bool = False) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_label(name),
        required=False,
        choices=([("", "—")] if blank else []) + list(choices),
    )


def phone(name: str) -> forms.CharField:
    # Wide enough for an E.164 number in its international spelling, "+49 1512 3456789".
    return text(name, type="tel", inputmode="tel", autocomplete="off", size=22, maxlength=40)


class CountryInput(forms.TextInput):
    """The country: a text field offering every ISO 3166 country by its name in the user's
    language (the browser narrows the list as one types); a stored code shows as its name.
    The customer rules take the name in German or English, or the code."""

    LIST_ID = "country-names"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"list": self.LIST_ID, "autocomplete": "off", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isupper():
            return country_name(value)
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None) -> str:
        options = format_html_join(
            "", '<option value="{}"></option>', ((n,) for _code, n in country_choices())
        )
        return super().render(name, value, attrs, renderer) + format_html(
            '<datalist id="{}">{}</datalist>', self.LIST_ID, options
        )


class CustomerForm(DomainErrorsMixin, forms.Form):
    """Base of the register forms: initial values from a customer, data for the service."""

    # Fields the actor may not change are shown disabled and never sent to the service.
    field_permissions: dict[str, str] = {
        **{f: "customers.change_payment" for f in PAYMENT_FIELDS},
        **{f: "customers.block" for f in BLOCK_FIELDS},
        "allowed_locations": "customers.restrict_locations",
    }

    def __init__(self, *args, actor: Actor, customer: Customer | None = None, **kwargs):
        if customer is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(customer)
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.customer = customer
        # A block may be beyond this actor's rank or rights on this very customer.
        refusals = (
            services.block_refusals(
                actor, blocked=customer.blocked, blocked_by_role=customer.blocked_by_role
            )
            if customer is not None
            else {}
        )
        for name, field in self.fields.items():
            permission = self.field_permissions.get(name)
            if name in refusals:
                field.disabled = True
                field.help_text = refusals[name]
            elif permission and not actor.can(permission):
                field.disabled = True
                field.help_text = _("Your role may not change this.")

    def initial_from(self, customer: Customer) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for name in self.base_fields:
            value = getattr(customer, name, None)
            if isinstance(value, dt.date):
                value = value.isoformat()
            initial[name] = value
        return initial

    def to_data(self) -> dict[str, Any]:
        """What goes to the service: every enabled field, typed as the service expects."""
        data = {}
        for name, field in self.fields.items():
            if field.disabled or name == "version":
                continue
            value = self.cleaned_data.get(name)
            if isinstance(field, forms.CharField) and value is not None:
                value = value.strip()
            data[name] = value
        return data


class MasterDataForm(CustomerForm):
    kind = pick("kind", CustomerKind.choices)
    title = text("title")
    first_name = text("first_name", autocomplete="off")
    last_name = text("last_name", autocomplete="off")
    company_name = text("company_name")
    vat_id = text("vat_id")
    alias = text("alias")
    gender = pick("gender", Gender.choices, blank=True)
    date_of_birth = forms.CharField(
        label=_label("date_of_birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class AddressForm(CustomerForm):
    street = text("street", autocomplete="off")
    postcode = text("postcode", inputmode="numeric")
    city = text("city")
    care_of = text("care_of")
    po_box = text("po_box")
    country = forms.CharField(
        label=_label("country"),
        required=False,
        help_text=_("Type to search the list; an ISO code such as AT will do too."),
        widget=CountryInput(),
    )
    phone_private = phone("phone_private")
    phone_business = phone("phone_business")
    mobile = phone("mobile")
    fax = phone("fax")
    email = text("email", type="email")
    homepage = text("homepage", type="url")


class PaymentForm(CustomerForm):
    iban = text("iban", autocomplete="off")
    bic = text("bic", autocomplete="off")
    institute = text("institute")
    discount = text("discount", inputmode="numeric")
    price_level = text("price_level", inputmode="numeric")
    payment_method = pick("payment_method", PaymentMethod.choices)
    payment_term_days = text("payment_term_days", inputmode="numeric")
    groups = forms.MultipleChoiceField(
        label=_label("groups"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [
            (n, n) for n in CustomerGroup.objects.order_by("name").values_list("name", flat=True)
        ]

    def initial_from(self, customer: Customer) -> dict[str, Any]:
        initial = super().initial_from(customer)
        initial["groups"] = sorted(g.name for g in customer.groups.all())
        return initial


class SettingsForm(CustomerForm):
    blocked = flag("blocked")
    lock_text = text("lock_text")
    newsletter = flag("newsletter")
    invoices_by_email = flag("invoices_by_email")
    favourite = flag("favourite")
    loss_reason = text("loss_reason")
    allowed_locations = forms.MultipleChoiceField(
        label=_label("allowed_locations"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every location may serve the customer."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.fields["lock_text"].disabled:
            self.fields["lock_text"].help_text = _("Shown to the operator at the till.")
        self.fields["allowed_locations"].choices = list(
            Location.objects.order_by("name").values_list("code", "name")
        )

    def initial_from(self, customer: Customer) -> dict[str, Any]:
        initial = super().initial_from(customer)
        initial["allowed_locations"] = sorted(loc.code for loc in customer.allowed_locations.all())
        return initial


class MemoForm(CustomerForm):
    memo = long_text("memo", maxlength=200)


class CommentsForm(CustomerForm):
    comments = long_text("comments")


FEATURE_PREFIX = "feature__"


class TagsForm(CustomerForm):
    """Tags as a comma-separated list, and one field per feature the tenant defined."""

    tags = forms.CharField(
        label=_label("tags"),
        required=False,
        help_text=_("Separate with commas, e.g. vegan, espresso"),
    )

    @staticmethod
    def feature_definitions() -> list[FeatureDefinition]:
        return list(FeatureDefinition.objects.order_by("key"))

    def __init__(self, *args, **kwargs):
        self.definitions = self.feature_definitions()
        super().__init__(*args, **kwargs)
        for d in self.definitions:
            name = FEATURE_PREFIX + d.key
            if d.type == FeatureType.BOOLEAN:
                field = forms.NullBooleanField(
                    label=d.label, required=False, widget=forms.NullBooleanSelect
                )
            elif d.type == FeatureType.CHOICE:
                field = forms.ChoiceField(
                    label=d.label, required=False, choices=[("", "—")] + [(c, c) for c in d.choices]
                )
            elif d.type == FeatureType.DATE:
                field = forms.CharField(
                    label=d.label, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                field = forms.CharField(label=d.label, required=False)
            self.fields[name] = field
            if self.customer is not None and not self.is_bound:
                field.initial = self.customer.features.get(d.key)

    def initial_from(self, customer: Customer) -> dict[str, Any]:
        return {"tags": ", ".join(sorted(t.name for t in customer.tags.all()))}

    def to_data(self) -> dict[str, Any]:
        tags = [t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]
        features: dict[str, Any] = {}
        for d in self.definitions:
            value = self.cleaned_data.get(FEATURE_PREFIX + d.key)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, ""):
                continue
            if (
                d.type == FeatureType.NUMBER
                and isinstance(value, str)
                and value.lstrip("-").isdigit()
            ):
                value = int(value)
            features[d.key] = value
        return {"tags": tags, "features": features}

    def field_name_for(self, service_field: str) -> str:
        if service_field.startswith("features."):
            return FEATURE_PREFIX + service_field.removeprefix("features.")
        return service_field


class NewCustomerForm(CustomerForm):
    """A new private or business customer: the master data and the address in one go."""

    def __init__(self, *args, kind: str = CustomerKind.PRIVATE, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def to_data(self) -> dict[str, Any]:
        data = {k: v for k, v in super().to_data().items() if v not in ("", None)}
        data["kind"] = self.kind
        return data


NewCustomerForm.base_fields = {
    **{k: v for k, v in MasterDataForm.base_fields.items() if k != "kind"},
    **AddressForm.base_fields,
    "newsletter": flag("newsletter"),
}
