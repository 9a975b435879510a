"""Records every app shares: the idempotency store of the services."""

from django.db import models

from .tenancy import TenantOwned


class IdempotencyRecord(TenantOwned):
    """A use case run once under a caller's key; a retry gets its result instead of a rerun.

    `owner` names who sent the key ("client:12", "user:5", "system"): two tills may use the
    same key without meeting. `result` is what the service chose to remember (a customer's
    id, say), so the retry answers with the record as it is now.
    """

    owner = models.CharField(max_length=60)
    key = models.CharField(max_length=200)
    operation = models.CharField(max_length=60)
    fingerprint = models.CharField(max_length=64)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "owner", "key"], name="idempotency_owner_key_unique"
            )
        ]
