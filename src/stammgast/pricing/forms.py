"""Portal forms of pricing: they collect what staff type; the services decide."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from stammgast.core.forms import DomainErrorsMixin
from stammgast.core.money import format_amount

from .models import MAX_LEVEL, MAX_TIMES_PER_DAY, MIN_LEVEL, SubsidyKind, SubsidyRule
from .selectors import GroupLevel

WEEKDAYS = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]


class SubsidyRuleForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    group = forms.ChoiceField(label=_("Customer group"))
    categories = forms.CharField(
        label=_("Item categories"),
        max_length=2000,
        required=False,
        help_text=_("As the tills send them, separated by commas; empty: every category."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SubsidyKind.choices)
    value = forms.CharField(
        label=_("Value"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_('Fixed: the amount per meal, e.g. "2,50". Percent: a whole percent, 1-100.'),
    )
    times_per_day = forms.IntegerField(
        label=_("Meals per day"), min_value=1, max_value=MAX_TIMES_PER_DAY, initial=1
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["0", "1", "2", "3", "4"],
    )
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    monthly_cap = forms.CharField(
        label=_("Monthly cap per customer"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("At most this much per customer and calendar month; empty: no cap."),
    )
    # One key per form shown: sending the new-rule form twice makes one rule.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)

    def __init__(self, data=None, *, groups: list[GroupLevel], rule: SubsidyRule | None = None):
        super().__init__(data, initial=self.initial_from(rule) if rule is not None else None)
        self.fields["group"].choices = [(g.group.name, g.group.name) for g in groups]
        if not self.is_bound and rule is None:
            self.initial["idempotency_key"] = secrets.token_urlsafe(18)

    @staticmethod
    def initial_from(rule: SubsidyRule) -> dict[str, Any]:
        fixed = rule.kind == SubsidyKind.FIXED
        return {
            "name": rule.name,
            "group": rule.group.name,
            "categories": ", ".join(rule.categories),
            "kind": rule.kind,
            "value": format_amount(rule.value).replace(".", ",") if fixed else str(rule.value),
            "times_per_day": rule.times_per_day,
            "weekdays": [str(d) for d in rule.weekdays],
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
            "monthly_cap": ""
            if rule.monthly_cap is None
            else format_amount(rule.monthly_cap).replace(".", ","),
        }

    def to_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "idempotency_key"}
        data["weekdays"] = [int(d) for d in data["weekdays"]]
        data["value"] = data["value"].strip()
        data["monthly_cap"] = data["monthly_cap"].strip() or None
        return data


class GroupLevelsForm(DomainErrorsMixin, forms.Form):
    """One field per customer group: the level its members get (empty: none)."""

    def __init__(self, data=None, *, groups: list[GroupLevel]):
        super().__init__(data)
        self.groups = groups
        for g in groups:
            self.fields[f"group_{g.group.pk}"] = forms.IntegerField(
                label=g.group.name,
                required=False,
                min_value=MIN_LEVEL,
                max_value=MAX_LEVEL,
                initial=g.price_level,
                widget=forms.NumberInput(attrs={"size": 3}),
            )

    def to_levels(self) -> dict[str, int | None]:
        return {g.group.name: self.cleaned_data.get(f"group_{g.group.pk}") for g in self.groups}

    def field_name_for(self, service_field: str) -> str:
        for g in self.groups:
            if service_field == f"levels.{g.group.name}":
                return f"group_{g.group.pk}"
        return service_field
