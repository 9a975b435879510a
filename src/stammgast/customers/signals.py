"""Signals of the customers app for the apps above it."""

from django.dispatch import Signal

# Sent by the `demo` command inside the demo tenant's scope (argument: tenant); a
# receiver adds its app's demo data and may return a line to print.
demo_tenant_ready = Signal()
