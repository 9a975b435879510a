"""The baseline for the lookup benchmark: a bare WSGI app with raw psycopg, no framework.

It answers the same two lookups as the API (customer by number, customers by phone in
E.164) with the same queries on the same indexes and serialises the rows to JSON; no
authentication, no middleware, no validation. It runs under gunicorn with exactly the
settings of `stammgast serve`:

    python -m benchmarks.baseline_app --bind 127.0.0.1:9000 --workers 2 --threads 4
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import threading
from urllib.parse import parse_qs, unquote

import psycopg

COLUMNS = (
    "number, kind, title, first_name, last_name, company_name, gender, date_of_birth, street,"
    " postcode, city, country, phone_private, phone_business, mobile, email, discount,"
    " price_level, payment_method, blocked, lock_text, newsletter, created_at, updated_at, version"
)
BY_NUMBER = f"SELECT {COLUMNS} FROM customers_customer WHERE tenant_id = %s AND number = %s"
BY_PHONE = (
    f"SELECT {COLUMNS} FROM customers_customer WHERE tenant_id = %s"
    " AND (phone_private_e164 = %s OR mobile_e164 = %s OR phone_business_e164 = %s)"
    " ORDER BY number LIMIT 20"
)
NAMES = [c.strip() for c in COLUMNS.split(",")]


class App:
    def __init__(self, url: str, tenant_id: int):
        self.url = url
        self.tenant_id = tenant_id
        self.local = threading.local()

    def conn(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            # Both reads prepared, as in stammgast (explicitly: psycopg would also prepare
            # any statement run five times).
            conn = self.local.conn = psycopg.connect(self.url, autocommit=True)
        return conn

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        prefix = "/api/v1/customers/"
        status, body = "404 Not Found", {"code": "not_found"}
        if path == prefix + "lookup":
            phone = parse_qs(environ.get("QUERY_STRING", "")).get("phone", [""])[0]
            rows = (
                self.conn()
                .execute(BY_PHONE, [self.tenant_id, phone, phone, phone], prepare=True)
                .fetchall()
            )
            status, body = "200 OK", [dict(zip(NAMES, r, strict=True)) for r in rows]
        elif path.startswith(prefix) and unquote(path[len(prefix) :]).isdigit():
            number = int(path[len(prefix) :])
            row = self.conn().execute(BY_NUMBER, [self.tenant_id, number], prepare=True).fetchone()
            if row is not None:
                status, body = "200 OK", dict(zip(NAMES, row, strict=True))
        data = json.dumps(body, default=_json_default, ensure_ascii=False).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def _json_default(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(type(value))


def main() -> None:
    from stammgast.core.management.commands.serve import gunicorn_settings, run_gunicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    app = App(os.environ["DATABASE_URL"], int(os.environ["BENCH_TENANT_ID"]))
    run_gunicorn(app, gunicorn_settings(bind=args.bind, workers=args.workers, threads=args.threads))


if __name__ == "__main__":
    main()
