"""Forms of the self-service pages. They draw the fields; the services check the values
(with the same rules as the API)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stammgast.customers import selectors as customer_selectors
from stammgast.customers.models import Gender
from stammgast.tenants.models import Location

from .fields import FORM_FIELDS, OPTIONAL_MAX
from .models import FieldUse
from .services import EMAIL_MAX, PASSWORD_MAX

EMAIL = {"autocomplete": "email", "inputmode": "email"}


def _password(label, autocomplete: str = "current-password") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class RegisterForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=EMAIL_MAX, widget=forms.EmailInput(EMAIL)
    )
    password = _password(_("Password"), "new-password")
    accepted_texts = forms.BooleanField(label=_("I accept the privacy policy and the terms."))
    newsletter = forms.BooleanField(label=_("Send me the newsletter."), required=False)


class PasswordForm(forms.Form):
    password = _password(_("Password"))


class NewPasswordForm(forms.Form):
    password = _password(_("New password"), "new-password")


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=EMAIL_MAX, widget=forms.EmailInput(EMAIL)
    )
    password = _password(_("Password"))


class ResetForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=EMAIL_MAX, widget=forms.EmailInput(EMAIL)
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=_("New e-mail address"), max_length=EMAIL_MAX, widget=forms.EmailInput(EMAIL)
    )
    password = _password(_("Your password"))


class PasswordChangeForm(forms.Form):
    old_password = _password(_("Current password"))
    new_password = _password(_("New password"), "new-password")


_AUTOCOMPLETE = {
    "title": "honorific-prefix",
    "first_name": "given-name",
    "last_name": "family-name",
    "company_name": "organization",
    "date_of_birth": "bday",
    "street": "street-address",
    "postcode": "postal-code",
    "city": "address-level2",
    "country": "country",
    "mobile": "tel",
    "phone_private": "tel",
    "phone_business": "tel",
}


class DataForm(forms.Form):
    """The guest's data: the fields the tenant asks for, required ones marked so that the
    browser keeps "Next" disabled until they are filled."""

    def __init__(self, *args, uses: dict[str, str], with_locations: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in FORM_FIELDS:
            use = uses[name]
            if use == FieldUse.HIDDEN:
                continue
            required = use == FieldUse.REQUIRED
            attrs = {"autocomplete": _AUTOCOMPLETE.get(name, "off")}
            if name == "gender":
                field = forms.ChoiceField(
                    label=label, required=required, choices=[("", "—"), *Gender.choices]
                )
            elif name == "country":
                field = forms.ChoiceField(
                    label=label,
                    required=required,
                    choices=[("", "—"), *customer_selectors.country_choices()],
                )
            elif name == "date_of_birth":
                field = forms.DateField(
                    label=label,
                    required=required,
                    widget=forms.DateInput(attrs={**attrs, "type": "date"}, format="%Y-%m-%d"),
                )
            else:
                if name in ("mobile", "phone_private", "phone_business"):
                    attrs.update(type="tel", inputmode="tel")
                field = forms.CharField(
                    label=label,
                    required=required,
                    max_length=OPTIONAL_MAX,
                    widget=forms.TextInput(attrs=attrs),
                )
            self.fields[name] = field
        if with_locations:
            choices = list(Location.objects.order_by("name").values_list("code", "name"))
            if choices:
                self.fields["favourite_locations"] = forms.MultipleChoiceField(
                    label=_("Favourite locations"),
                    required=False,
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                )


class AreaSettingsForm(forms.Form):
    """The tenant's guest area: open or closed, colour, logo, the data form's fields."""

    enabled = forms.BooleanField(label=_("The guest area is open"), required=False)
    colour = forms.CharField(
        label=_("Colour"), max_length=7, widget=forms.TextInput(attrs={"type": "color"})
    )
    logo = forms.ImageField(label=_("Logo"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args, uses: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in FORM_FIELDS:
            self.fields[f"use_{name}"] = forms.ChoiceField(
                label=label, choices=FieldUse.choices, initial=uses[name]
            )
