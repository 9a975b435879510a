"""Row locks of the bills app."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from .models import Bill


def bill_for_update(visible: QuerySet[Bill], bill_uid: str) -> Bill | None:
    """The bill, locked: two cancellations of one bill wait for each other."""
    try:
        key = uuid.UUID(str(bill_uid))
    except ValueError:
        return None
    return visible.select_for_update(no_key=True).filter(uid=key).first()
