"""WSGI entry point for the production server."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stammgast.settings")
django.setup(set_prefix=False)

from stammgast.core.handlers import StammgastWSGI  # noqa: E402

application = StammgastWSGI()
