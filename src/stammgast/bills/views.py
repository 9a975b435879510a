"""The customer record's "Bills" register and a bill's page with its customer snapshot."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from stammgast.core.errors import NotFound
from stammgast.customers.registers import Register, add_register
from stammgast.tenants.pages import render_page, staff_required

from . import selectors


def bills_register(request: HttpRequest, customer) -> dict:
    page = selectors.customer_bills(
        actor=request.actor, customer_number=customer.number, cursor=request.GET.get("cursor")
    )
    return {"bills": page.items, "next_cursor": page.next_cursor}


def add_bills_register() -> None:
    add_register(
        Register(
            "bills",
            gettext_lazy("Bills"),
            "bills/register.html",
            47,
            context=bills_register,
            group="money",
        )
    )


@staff_required
def bill_detail(request: HttpRequest, bill_id) -> HttpResponse:
    try:
        bill = selectors.get_bill(actor=request.actor, bill_uid=bill_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return render_page(request, "bills/bill.html", {"nav": "customers", "bill": bill})
