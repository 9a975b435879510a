"""Events of the tenants app that higher apps react to (tenants imports none of them)."""

from django.dispatch import Signal

# Sent inside detach_location's transaction, before the location moves: `location` is
# still the old tenant's. Receivers release what of theirs refers to it.
location_leaving = Signal()
