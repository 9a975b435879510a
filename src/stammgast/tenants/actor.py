"""Who is acting: a staff user, an API client or a guest, in a tenant, maybe at one location."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from stammgast.core.errors import PermissionDenied

from .models import ApiClient, Location, Role, Scope, Tenant

# What each staff role and each API scope may do. Reading is allowed to everyone who is
# let in at all; the rest is listed here and nowhere else.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.TENANT_ADMIN: {
        "customers.create",
        "customers.change",
        "customers.change_payment",
        "customers.block",
        "customers.unblock",
        "customers.restrict_locations",
        "tenant.manage",
        "customers.erase",
        "privacy.access_log",
        "customers.export",
        "customers.import",
        *{"credit.top_up", "credit.pay", "credit.refund", "credit.correct", "credit.pay_out"},
        *{"credit.transfer", "account.charge", "account.settle", "bills.post", "bills.cancel"},
        "pricing.manage",
    },
    Role.LOCATION_MANAGER: {
        "customers.create",
        "customers.change",
        "customers.change_payment",
        "customers.block",
        "customers.unblock",
        "customers.restrict_locations",
        "customers.export",
        *{"credit.top_up", "credit.pay", "credit.refund", "credit.correct", "credit.pay_out"},
        *{"credit.transfer", "account.charge", "account.settle", "bills.post", "bills.cancel"},
    },
    # A cashier may block a guest at the till (a lost card, an unpaid bill); lifting a
    # block is a manager's decision.
    Role.CASHIER: {
        "customers.create",
        "customers.change",
        "customers.block",
        *{"credit.top_up", "credit.pay", "credit.refund", "account.settle"},
    },
    Role.READ_ONLY: set(),
}
SCOPE_PERMISSIONS: dict[str, set[str]] = {
    # A till may lift the blocks tills set (a card found again), not those of staff above.
    Scope.POS: {
        "customers.create",
        "customers.change",
        "customers.change_payment",
        "customers.block",
        "customers.unblock",
        "customers.restrict_locations",
        *{"credit.top_up", "credit.pay", "credit.refund", "account.charge", "account.settle"},
        *{"bills.post", "bills.cancel"},
    },
    # The web shop takes online top-ups and payments; corrections and pay-outs need staff.
    Scope.WEBSHOP: {
        "customers.create",
        "customers.change",
        *{"credit.top_up", "credit.pay", "credit.refund", "account.charge", "bills.post"},
    },
    Scope.THIRDPARTY: {"customers.create", "customers.change", "customers.third_party_memo"},
    Scope.READONLY: set(),
    # A back-office integration that moves whole customer bases in and out.
    Scope.EXCHANGE: {
        "privacy.access_log",
        "customers.export",
        "customers.import",
        "customers.create",
        "customers.change",
        "customers.change_payment",
        "customers.block",
        "customers.unblock",
        "customers.restrict_locations",
    },
}
# A guest changes their own master data and consents and tops up their credit; payment
# data, blocks, discounts, memos and the like stay with the business. The e-mail address
# changes only through its own confirmed workflow, never as a plain field.
GUEST_PERMISSIONS = {"customers.change", "credit.top_up", "customers.erase"}
GUEST_FIELDS = frozenset(
    {
        "title",
        "first_name",
        "last_name",
        "company_name",
        "gender",
        "date_of_birth",
        "street",
        "postcode",
        "city",
        "care_of",
        "po_box",
        "country",
        "phone_private",
        "phone_business",
        "mobile",
        # Written by the rules from the phone numbers above, never given as such.
        "phone_private_e164",
        "phone_business_e164",
        "mobile_e164",
        "newsletter",
    }
)
# How the history names a guest's own change (stored, like "system", untranslated).
GUEST_LABEL = "guest (self-service)"

# A block records the rank of whoever set it; only that rank or a higher one lifts it.
# Tills and integrations act with the rank of the staff who would do the same by hand.
BLOCK_RANKS: dict[str, int] = {
    Role.CASHIER: 1,
    Role.LOCATION_MANAGER: 2,
    Role.TENANT_ADMIN: 3,
}
SCOPE_BLOCK_ROLES: dict[str, str] = {
    Scope.POS: Role.CASHIER,
    Scope.WEBSHOP: Role.CASHIER,
    Scope.THIRDPARTY: Role.CASHIER,
    Scope.EXCHANGE: Role.TENANT_ADMIN,
}


@dataclass(frozen=True)
class Actor:
    tenant: Tenant
    user: object | None = None
    api_client: ApiClient | None = None
    location: Location | None = None
    role: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    # True when the actor works for one location only and sees only the customers that
    # location may serve; false for head office staff and unbound API clients.
    location_bound: bool = False
    # Where a change comes from, for the logs that name it (consents): "portal", "api",
    # "import", "selfservice"; empty: told by who acts (see `channel_name`).
    channel: str = ""
    # A guest in the self-service area: the one customer they are (None while they
    # register), and the fields they may change themselves (None: no such limit).
    guest: bool = False
    own_customer: int | None = None
    editable_fields: frozenset[str] | None = None

    @classmethod
    def for_api_client(cls, client: ApiClient) -> Actor:
        perms: set[str] = set()
        for scope in client.scopes:
            perms |= SCOPE_PERMISSIONS.get(scope, set())
        return cls(
            tenant=client.tenant,
            api_client=client,
            location=client.location,
            permissions=frozenset(perms),
            location_bound=client.location is not None,
        )

    @classmethod
    def for_staff(cls, *, tenant: Tenant, user, role: str, location: Location | None) -> Actor:
        return cls(
            tenant=tenant,
            user=user,
            role=role,
            location=location,
            permissions=frozenset(ROLE_PERMISSIONS.get(role, set())),
            location_bound=location is not None,
        )

    @classmethod
    def system(cls, tenant: Tenant, *, location: Location | None = None) -> Actor:
        """Operators on the command line: everything a tenant admin may do."""
        return cls(
            tenant=tenant,
            location=location,
            role=Role.TENANT_ADMIN,
            permissions=frozenset(ROLE_PERMISSIONS[Role.TENANT_ADMIN]),
        )

    @classmethod
    def for_guest(cls, *, tenant: Tenant, customer_number: int | None) -> Actor:
        """A guest managing their own record in the self-service area; with no number yet,
        a guest completing their registration, who may create their record (and give it
        the confirmed e-mail address)."""
        if customer_number is None:
            permissions, fields = GUEST_PERMISSIONS | {"customers.create"}, GUEST_FIELDS | {"email"}
        else:
            permissions, fields = GUEST_PERMISSIONS, GUEST_FIELDS
        return cls(
            tenant=tenant,
            permissions=frozenset(permissions),
            channel="selfservice",
            guest=True,
            own_customer=customer_number,
            editable_fields=fields,
        )

    def via(self, channel: str) -> Actor:
        """The same actor, its changes recorded as coming through `channel`."""
        return replace(self, channel=channel)

    @property
    def channel_name(self) -> str:
        if self.channel:
            return self.channel
        if self.api_client is not None:
            return "api"
        if self.user is not None:
            return "portal"
        return "system"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str, message: str | None = None) -> None:
        if not self.can(permission):
            raise PermissionDenied(message or _("You are not allowed to do this."))

    @property
    def block_role(self) -> str:
        """The role a block set by this actor is recorded with (see BLOCK_RANKS)."""
        if self.api_client is not None:
            roles = [SCOPE_BLOCK_ROLES.get(s, "") for s in self.api_client.scopes]
            return max(roles, key=lambda r: BLOCK_RANKS.get(r, 0), default="")
        return self.role or ""

    def outranks_block_of(self, role: str) -> bool:
        """May lift or change a block recorded with `role` (rank-wise; rights aside).
        A block from before ranks were recorded (no role) is anyone's to lift."""
        return BLOCK_RANKS.get(self.block_role, 0) >= BLOCK_RANKS.get(role, 0)

    @property
    def ref(self) -> str:
        """Who acts, as a short stable text (the owner of an idempotency key)."""
        if self.api_client is not None:
            return f"client:{self.api_client.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        if self.guest:
            return f"guest:{self.own_customer or 'new'}"
        return "system"

    @property
    def label(self) -> str:
        if self.api_client is not None:
            return f"API: {self.api_client.name}"
        if self.user is not None:
            return self.user.get_username()
        if self.guest:
            return GUEST_LABEL
        return "system"
