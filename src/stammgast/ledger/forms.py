"""Portal forms of the ledger: they collect text; the services decide."""

from __future__ import annotations

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _


class MovementForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_('In the tenant\'s currency, e.g. "20" or "12,50".'),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    # One key per form shown: sending it twice books once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, reason_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        if not self.is_bound:
            self.initial["idempotency_key"] = secrets.token_urlsafe(18)


class StatementForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
