"""Portal pages for customers: the list, the record in registers, create and edit.

Views are thin: they turn a form into a call of the customer services or selectors and
show the DomainError they raise next to the fields it names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stammgast.core.access import note_access
from stammgast.core.errors import DomainError, NotFound, PreconditionFailed
from stammgast.tenants.pages import render_page, staff_required

from . import forms, selectors, services
from .filters import filter_in_words
from .models import Customer, CustomerEvent, CustomerKind
from .registers import (
    Register,
    add_register,
    grouped_registers,
    header_facts,
    register_named,
)

# --- registers -------------------------------------------------------------------------


def _tags_context(request: HttpRequest, customer: Customer) -> dict:
    definitions = forms.TagsForm.feature_definitions()
    return {"features": [(d.label, customer.features.get(d.key)) for d in definitions]}


def _memos_context(request: HttpRequest, customer: Customer) -> dict:
    # The third-party memo may hold a million characters; the page shows the start.
    return {
        "third_party_memo_shown": customer.third_party_memo[:MEMO_DISPLAY_MAX],
        "third_party_memo_cut": len(customer.third_party_memo) > MEMO_DISPLAY_MAX,
    }


def _history_context(request: HttpRequest, customer: Customer) -> dict:
    page = selectors.customer_history(
        actor=request.actor, number=customer.number, cursor=request.GET.get("cursor") or None
    )
    return {
        "history": history_rows(page),
        "next_url": "?" + urlencode({"cursor": page.next_cursor}) if page.next_cursor else None,
    }


def add_customer_registers() -> None:
    """The registers of the customers app itself (called from its AppConfig.ready)."""
    fields = "customers/registers/fields.html"
    for register in (
        Register("master", gettext_lazy("Master data"), fields, 10, "customers.change",
                 forms.MasterDataForm, group="master"),
        Register("settings", gettext_lazy("Settings"), fields, 15,
                 "customers.change", forms.SettingsForm, group="master"),
        Register("address", gettext_lazy("Address and contact"), fields, 20,
                 "customers.change", forms.AddressForm, group="contact"),
        Register("payment", gettext_lazy("Payment information"), fields, 30,
                 "customers.change_payment", forms.PaymentForm, group="contact"),
        Register("tags", gettext_lazy("Tags, preferences and features"),
                 "customers/registers/tags.html", 70, "customers.change", forms.TagsForm,
                 _tags_context, group="features"),
        Register("memos", gettext_lazy("Memos"), "customers/registers/memos.html", 75,
                 "customers.change", forms.MemoForm, _memos_context, group="features"),
        Register("comments", gettext_lazy("Comments"), "customers/registers/comments.html", 80,
                 "customers.change", forms.CommentsForm, group="features"),
        Register("history", gettext_lazy("History"), "customers/registers/history.html", 900,
                 context=_history_context, group="history"),
    ):  # fmt: skip
        add_register(register)


def can_edit(actor, register: Register) -> bool:
    return register.form is not None and (
        register.permission is None or actor.can(register.permission)
    )


def _register_or_404(slug: str) -> Register:
    register = register_named(slug)
    if register is None:
        raise Http404(_("There is no such register."))
    return register


def _customer_or_404(request: HttpRequest, number: int) -> Customer:
    try:
        return selectors.get_customer(actor=request.actor, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from None


# --- display values --------------------------------------------------------------------


def display_value(customer: Customer, name: str) -> Any:
    """A field's value as a person reads it (choice labels, yes/no, dates, lists)."""
    if name == "groups":
        # List pages come with `group_names` (one query per page); a record asks itself.
        names = getattr(customer, "group_names", None)
        if names is None:
            names = sorted(g.name for g in customer.groups.all())
        return ", ".join(names)
    if name == "allowed_locations":
        return ", ".join(sorted(loc.name for loc in customer.allowed_locations.all())) or _(
            "all locations"
        )
    value = getattr(customer, name)
    if name == "country":
        return selectors.country_name(value) if value else ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    display = getattr(customer, f"get_{name}_display", None)
    if display is not None:
        return display()
    return value


def field_label(name: str) -> str:
    try:
        return capfirst(Customer._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


_FIELD_ORDER = {f.name: i for i, f in enumerate(Customer._meta.get_fields())}


def history_rows(page: selectors.Page) -> list[dict]:
    rows = []
    for event in page.items:
        changes = [
            {
                "field": field_label(field),
                "old": _plain(field, old),
                "new": _plain(field, new),
            }
            for field, (old, new) in sorted(
                event.changes.items(), key=lambda item: _FIELD_ORDER.get(item[0], 999)
            )
        ]
        rows.append(
            {
                "at": event.at,
                "action": CustomerEvent.Action(event.action).label
                if event.action in CustomerEvent.Action.values
                else event.action,
                "who": event.actor_label,
                "where": event.location_code,
                "changes": changes,
            }
        )
    return rows


def _plain(field: str, value: Any) -> str:
    """A history value as text; stored choice values are shown with their label."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    try:
        choices = dict(Customer._meta.get_field(field).flatchoices)
    except FieldDoesNotExist:
        choices = {}
    return str(choices.get(value, value))


# --- list ------------------------------------------------------------------------------

MEMO_DISPLAY_MAX = 20_000
# Shown at once; the rest sit under "More filters" (opened when one of them is set).
MAIN_FILTERS = ("group", "blocked", "newsletter", "location")
SORTABLE_COLUMNS = {
    "number": "number",
    "name": "name",
    "postcode": "postcode",
    "changed": "changed",
}
PAGE_SIZE = 50
MAX_PAGE_NUMBER = 1_000_000


def _page_number(request: HttpRequest) -> int | None:
    """The number of the page asked for: 1 without a cursor, None if a cursor came without
    a (sensible) number, e.g. from an old bookmark."""
    if not request.GET.get("cursor"):
        return 1
    raw = request.GET.get("page", "")
    if raw.isascii() and raw.isdigit() and 2 <= int(raw) <= MAX_PAGE_NUMBER:
        return int(raw)
    return None


def _position(page: selectors.Page, number: int | None, total: int, estimated: bool) -> dict:
    """'21–40 of 12,345' and 'Page 2 of 618' in the user's language."""
    count = {"total": number_format(total, force_grouping=True)}
    if number is None or not page.items:
        text = (_("about %(total)s customers") if estimated else _("%(total)s customers")) % count
        return {"text": text, "page": ""}
    first = (number - 1) * PAGE_SIZE + 1
    last = first + len(page.items) - 1
    values = {
        **count,
        "first": number_format(first, force_grouping=True),
        "last": number_format(last, force_grouping=True),
    }
    pages = {
        "page": number_format(number, force_grouping=True),
        "pages": number_format(max(number, -(-total // PAGE_SIZE)), force_grouping=True),
    }
    if estimated:
        return {
            "text": _("%(first)s–%(last)s of about %(total)s") % values,
            "page": _("Page %(page)s of about %(pages)s") % pages,
        }
    return {
        "text": _("%(first)s–%(last)s of %(total)s") % values,
        "page": _("Page %(page)s of %(pages)s") % pages,
    }


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = forms.CustomerFilterForm(request.GET or None)
    f = form.to_filter()
    page = None
    position = None
    search_error = None
    search_hint = None
    if selectors.search_too_short(f.q):
        # Still typing: the list stays as the other filters select it, with a quiet hint.
        search_hint = _("Search starts at %(n)d characters (or a customer number).") % {
            "n": selectors.MIN_SEARCH_TERM
        }
        f = dataclasses.replace(f, q="")
    number = _page_number(request)
    try:
        page = selectors.list_customers(
            actor=request.actor, f=f, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
        total, estimated = selectors.count_customers_for_list(actor=request.actor, f=f)
        position = _position(page, number, total, estimated)
        note_access(
            actor=request.actor, kind="list", what=filter_in_words(f), count=len(page.items)
        )
    except DomainError as exc:
        search_error = exc.fields.get("q", [exc.message])[0] if exc.fields else exc.message
        if "cursor" in exc.fields:
            search_error = exc.message
    params = f.as_params()
    base_query = urlencode(params)
    sort_links = {}
    for column, key in SORTABLE_COLUMNS.items():
        descending = f.sort == key
        sort_links[column] = {
            "url": "?" + urlencode({**params, "sort": f"-{key}" if descending else key}),
            "state": "ascending" if f.sort == key else "descending" if f.sort == f"-{key}" else "",
        }
    first_url = "?" + base_query if request.GET.get("cursor") else None
    previous_url = None
    if page and page.previous_cursor:
        if number == 2:
            previous_url = first_url
        else:
            previous_params = {**params, "cursor": page.previous_cursor}
            if number:
                previous_params["page"] = number - 1
            previous_url = "?" + urlencode(previous_params)
    next_url = None
    if page and page.next_cursor:
        next_params = {**params, "cursor": page.next_cursor}
        if number:
            next_params["page"] = number + 1
        next_url = "?" + urlencode(next_params)
    context = {
        "nav": "customers",
        "form": form,
        "page": page,
        "position": position,
        "search_error": search_error,
        "search_hint": search_hint,
        "query": base_query,
        "export_url": "/exchange/export/" + (f"?{base_query}" if base_query else ""),
        "next_url": next_url,
        "previous_url": previous_url,
        "first_url": first_url,
        "sort_links": sort_links,
        "main_filters": MAIN_FILTERS,
        "more_filters_set": any(k not in MAIN_FILTERS and k not in ("q", "sort") for k in params),
        "can_create": request.actor.can("customers.create"),
        "can_export": request.actor.can("customers.export"),
    }
    if request.htmx and not request.htmx.boosted and request.htmx.target == "customer-results":
        return render(request, "customers/_results.html", context)
    return render_page(request, "customers/list.html", context)


# --- record ----------------------------------------------------------------------------


def _record_header(request: HttpRequest, customer: Customer) -> list[dict]:
    """What a clerk wants to see on every register, without opening one: groups, price
    level, discount, how to reach the customer, and what other apps add (credit)."""
    phone = customer.mobile or customer.phone_private or customer.phone_business
    groups = display_value(customer, "groups") or "—"
    facts = [
        {"key": "groups", "label": _("Customer groups"), "value": groups},
        {"key": "price_level", "label": _("Price level"), "value": customer.price_level},
        {"key": "discount", "label": _("Discount"), "value": f"{customer.discount} %"},
        {"key": "phone", "label": _("Phone"), "value": phone or "—",
         "href": f"tel:{phone.replace(' ', '')}" if phone else ""},
        {"key": "email", "label": _("E-mail"), "value": customer.email or "—",
         "href": f"mailto:{customer.email}" if customer.email else ""},
    ]  # fmt: skip
    for fact in header_facts():
        value = fact.value(request, customer)
        if value is not None:
            facts.append({"key": fact.key, "label": fact.label, "value": value})
    return facts


def _record_context(request: HttpRequest, customer: Customer, register: Register) -> dict:
    actor = request.actor
    groups = []
    current_members: list[dict] = []
    for group, members in grouped_registers():
        current = any(r.slug == register.slug for r in members)
        groups.append({"slug": members[0].slug, "label": group.label, "current": current})
        if current and len(members) > 1:
            current_members = [
                {"slug": r.slug, "label": r.label, "current": r.slug == register.slug}
                for r in members
            ]
    return {
        "nav": "customers",
        "customer": customer,
        "register": register,
        "groups": groups,
        "registers": current_members,
        "header": _record_header(request, customer),
        "can_edit": can_edit(actor, register),
    }


@staff_required
def customer_record(request: HttpRequest, number: int, register: str = "master") -> HttpResponse:
    reg = _register_or_404(register)
    customer = _customer_or_404(request, number)
    note_access(actor=request.actor, kind="record", customer_number=number, count=1)
    context = _record_context(request, customer, reg)
    if reg.form is not None:
        form = reg.form(actor=request.actor, customer=customer)
        context["form"] = form
        context["rows"] = [
            {"label": form.fields[name].label, "value": display_value(customer, name)}
            for name in form.base_fields
            if not (customer.kind == CustomerKind.PRIVATE and name in ("company_name", "vat_id"))
        ]
    if reg.context is not None:
        context.update(reg.context(request, customer))
    return render_page(request, "customers/record.html", context)


def _stale_values(form: forms.CustomerForm, customer: Customer) -> list[tuple[str, str]]:
    """The values saved meanwhile where they differ from what this user typed."""
    saved = form.initial_from(customer)
    typed = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    out = []
    for name in form.fields:
        if name in saved and name in typed:
            a, b = saved[name], typed[name]
            if isinstance(a, list):
                a, b = sorted(a), sorted(b or [])
            if (a or "") != (b or ""):
                value = display_value(customer, name) if hasattr(customer, name) else saved[name]
                out.append((name, str(value) if value not in (None, "") else ""))
    return out


@staff_required
def customer_register_edit(request: HttpRequest, number: int, register: str) -> HttpResponse:
    reg = _register_or_404(register)
    customer = _customer_or_404(request, number)
    if reg.form is None:
        raise Http404(_("This register cannot be edited."))
    if not can_edit(request.actor, reg):
        context = _record_context(request, customer, reg)
        context["denied"] = _("Your role may not change this register.")
        return render_page(request, "customers/denied.html", context, status=403)
    context = _record_context(request, customer, reg)
    version = customer.version
    status = 200
    if request.method == "POST":
        form = reg.form(request.POST, actor=request.actor, customer=customer)
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = customer.version
        if form.is_valid():
            try:
                services.update_customer(
                    actor=request.actor,
                    number=number,
                    data=form.to_data(),
                    expected_version=version,
                )
            except PreconditionFailed as exc:
                current = _customer_or_404(request, number)
                form.add_error(None, exc.message)
                context["stale"] = True
                context["stale_values"] = _stale_values(form, current)
                context["customer"] = current
                # The next save is a deliberate overwrite of what is shown as saved meanwhile.
                version = current.version
                status = 409
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status if exc.status in (403, 409, 422) else 400
            else:
                messages.success(request, _("The changes have been saved."))
                return redirect("portal:customers:register", number=number, register=reg.slug)
        else:
            status = 422
    else:
        form = reg.form(actor=request.actor, customer=customer)
    context.update({"form": form, "version": version, "editing": True})
    return render_page(request, "customers/edit.html", context, status=status)


@staff_required
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.can("customers.create"):
        return render_page(
            request,
            "customers/denied.html",
            {"nav": "customers", "denied": _("Your role may not create customers.")},
            status=403,
        )
    kind = request.POST.get("kind") or request.GET.get("kind") or CustomerKind.PRIVATE
    if kind not in CustomerKind.values:
        kind = CustomerKind.PRIVATE
    data = request.POST if request.method == "POST" else None
    form = forms.NewCustomerForm(data, actor=actor, kind=kind)
    if kind == CustomerKind.PRIVATE:
        del form.fields["company_name"]
        del form.fields["vat_id"]
    else:
        form.order_fields(["company_name", "vat_id"])
    # The box starts as the tenant's default, so an untouched box keeps that default.
    defaults = selectors.new_customer_defaults(actor.tenant)
    form.fields["newsletter"].initial = defaults["newsletter"]
    # Most customers live where the business is: the tenant's country is preselected.
    form.fields["country"].initial = actor.tenant.default_country
    status = 200
    error_code = ""
    # One key per form shown: sending the same form twice (a double click, a reload after
    # a lost answer) creates one customer. A refused form keeps its key for the retry.
    idempotency_key = (request.POST.get("idempotency_key") or "")[:100] or secrets.token_urlsafe(18)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(
                actor=actor, data=form.to_data(), idempotency_key=idempotency_key
            )
        except DomainError as exc:
            form.add_domain_error(exc)
            error_code = exc.code
            status = exc.status if exc.status in (403, 409, 422) else 400
        else:
            messages.success(
                request, _("Customer %(number)d has been created.") % {"number": customer.number}
            )
            return redirect(reverse("portal:customers:record", args=[customer.number]))
    elif request.method == "POST":
        status = 422
    return render_page(
        request,
        "customers/create.html",
        {
            "nav": "customers",
            "form": form,
            "kind": kind,
            "idempotency_key": idempotency_key,
            "error_code": error_code,
        },
        status=status,
    )
