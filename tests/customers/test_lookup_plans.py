"""The prepared caller-ID lookup's generic plan expects a handful of customers, not all.

The phone lookup runs as a prepared statement; after a few runs PostgreSQL may keep a
generic plan made without the number. A customer without a number is NULL in the E.164
columns, so that plan's estimate is "a few rows" even where nobody has a business phone.
With "" for a missing number it expected every customer to match and walked the whole
tenant in number order.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from stammgast.customers import records, selectors
from stammgast.customers.models import Customer

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="plans of PostgreSQL's prepared statements"
    ),
]


def _scan_rows(node: dict) -> list[float]:
    """Estimated rows of every node that reads the customer table."""
    found = []
    if node.get("Relation Name") == Customer._meta.db_table:
        found.append(node["Plan Rows"])
    for child in node.get("Plans", []):
        found += _scan_rows(child)
    return found


def test_generic_phone_lookup_plan_expects_few_customers(tenant, admin_actor, make_customer):
    for n in range(1, 201):
        make_customer(
            last_name=f"Gast {n}",
            mobile=f"0151 {10000000 + n}" if n % 3 else "",
            phone_private=f"030 {2000000 + n}" if n % 2 else "",
        )
    assert not Customer.objects.filter(phone_business_e164="").exists()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    statement = records._statement(
        connection.vendor,
        "summaries by phone",
        False,
        selectors._by_phone,
        records.SUMMARY_COLUMNS,
        records.SUMMARY_RELATIONS,
    )
    given = {"tenant": tenant.pk, "value": "+4915112345678"}
    params = [given[s] if isinstance(s, str) else s[1] for s in statement.slots]
    assert params.count("+4915112345678") == 3
    numbered = statement.sql
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("%s", f"${n}", 1)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE phone_lookup AS {numbered}")
        placeholders = ", ".join(["%s"] * len(params))
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE phone_lookup ({placeholders})", params)
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("DEALLOCATE phone_lookup")
    plan = plan if isinstance(plan, list) else json.loads(plan)
    rows = _scan_rows(plan[0]["Plan"])
    assert rows, plan
    # 200 customers in the tenant: the plan must not expect a large share of them.
    assert max(rows) <= 5, plan
