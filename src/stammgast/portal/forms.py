"""Portal forms of the shell: the log-in's second step, two-factor set-up, tenant settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stammgast.core.forms import DomainErrorsMixin


def _code_field(label, help_text="") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=40,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


def _password_field() -> forms.CharField:
    return forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SecondStepForm(DomainErrorsMixin, forms.Form):
    code = _code_field(
        _("Code"),
        _("The 6-digit code your authenticator app shows, or one of your recovery codes."),
    )


class ConfirmEnrolmentForm(DomainErrorsMixin, forms.Form):
    code = _code_field(_("Code from the app"), _("The 6-digit code the app shows now."))


class RenewRecoveryCodesForm(DomainErrorsMixin, forms.Form):
    password = _password_field()


class DisableTwoFactorForm(DomainErrorsMixin, forms.Form):
    password = _password_field()
    code = _code_field(_("Code"), _("A code from your authenticator app, or a recovery code."))


class TenantSettingsForm(DomainErrorsMixin, forms.Form):
    two_factor_required = forms.BooleanField(
        label=_("Two-factor login mandatory for all staff"),
        required=False,
        help_text=_(
            "Staff without two-factor login are asked to set it up at their next page and can"
            " do nothing else until they have."
        ),
    )


class ResetTwoFactorForm(DomainErrorsMixin, forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    password = forms.CharField(
        label=_("Your password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
