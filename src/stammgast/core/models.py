"""Records shared by every API: the first answer to an idempotent POST."""

from django.db import models

from .tenancy import TenantOwned


class IdempotentRequest(TenantOwned):
    """The first answer to a POST with an Idempotency-Key, returned again on a retry."""

    api_client = models.ForeignKey("tenants.ApiClient", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(fields=["api_client", "key"], name="idempotency_key_unique")
        ]
