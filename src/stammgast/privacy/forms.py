"""Portal forms of the privacy pages: recording a consent, publishing a legal text."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Channel, CreditAtErasure, LegalTextKind, text_kind_for
from .services import LEGAL_BODY_MAX, LEGAL_TITLE_MAX, NOTE_MAX


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Consent"))
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("granted")), ("0", _("revoked or refused"))],
        coerce=lambda v: v == "1",
    )
    channel = forms.ChoiceField(
        label=_("Given"),
        choices=[(Channel.PAPER, _("on paper")), (Channel.PORTAL, _("in person / by phone"))],
    )
    # "privacy:3" or "terms:2": the text and its version the guest saw.
    text_version = forms.ChoiceField(label=_("Text version"), required=False)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        help_text=_("e.g. where the signed form is kept"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = selectors.purposes()
        self.fields["text_version"].choices = [("", _("the current version"))] + [
            (f"{t.kind}:{t.version}", f"{t.get_kind_display()} v{t.version}")
            for t in selectors.legal_texts()
        ]

    def clean(self):
        data = super().clean()
        chosen, purpose = data.get("text_version"), data.get("purpose")
        data["text_version"] = None
        if chosen and purpose:
            kind, _sep, version = chosen.partition(":")
            if kind != text_kind_for(purpose):
                self.add_error(
                    "text_version",
                    _("This consent refers to the %(text)s.")
                    % {"text": LegalTextKind(text_kind_for(purpose)).label},
                )
            else:
                data["text_version"] = int(version)
        return data


class LegalTextForm(forms.Form):
    kind = forms.ChoiceField(label=_("Text"), choices=LegalTextKind.choices)
    title = forms.CharField(label=_("Title"), max_length=LEGAL_TITLE_MAX)
    body = forms.CharField(
        label=_("Text"),
        max_length=LEGAL_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_("Plain text; blank lines separate paragraphs."),
    )


class PurposeForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=50, help_text=_("e.g. birthday-mail"))
    label = forms.CharField(label=_("Label"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)


class ErasureRequestForm(forms.Form):
    received_how = forms.CharField(
        label=_("Received how"),
        max_length=200,
        help_text=_("e.g. in person at the Mitte location, letter of 3 May"),
    )


class PrivacySettingsForm(forms.Form):
    credit_at_erasure = forms.ChoiceField(
        label=_("Credit left at erasure is"), choices=CreditAtErasure.choices
    )
    bill_retention_years = forms.IntegerField(
        label=_("Keep bills for (years)"), min_value=1, max_value=30
    )
