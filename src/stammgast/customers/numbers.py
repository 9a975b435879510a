"""Customer numbers: one allocator for every way a customer comes into being.

1 to 9,999,999, unique per tenant, never reused. A location with a number range of its
own hands out numbers from it (a till creating customers offline uses it); everyone else
gets the tenant's next number, skipping every location's range. Each counter only moves
up: a number once handed out stays retired, even if its customer is gone, and the search
for a free number never wraps around to the start.

A single creation takes its number inside its own transaction, holding the counter row
for the few milliseconds that transaction lasts. A bulk creation (the import) reserves
its whole block at the start in a short transaction of its own, so tills creating
customers meanwhile wait milliseconds, not for the whole import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from stammgast.core import db
from stammgast.core.errors import Conflict
from stammgast.tenants.models import MAX_CUSTOMER_NUMBER, Location, Tenant

from . import lock_objects
from .models import Customer

# How many numbers one look at the customer table checks for being taken.
_WINDOW = 10_000


class Bitmap:
    """One bit per possible customer number (1.25 MB)."""

    __slots__ = ("bits",)

    def __init__(self) -> None:
        self.bits = bytearray(MAX_CUSTOMER_NUMBER // 8 + 1)

    def add(self, n: int) -> None:
        self.bits[n >> 3] |= 1 << (n & 7)

    def __contains__(self, n: int) -> bool:
        return bool(self.bits[n >> 3] & (1 << (n & 7)))


def _ranges(exclude: Location | None = None) -> list[tuple[int, int]]:
    qs = Location.objects.filter(number_from__isnull=False)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return sorted(qs.values_list("number_from", "number_to"))


def _free_numbers(
    start: int, end: int, ranges: list[tuple[int, int]], skip: Bitmap | None
) -> Iterator[int]:
    """Numbers from `start` to `end`, in order, that no customer has, in no other range,
    and not in `skip`."""
    n = start
    while n <= end:
        inside = next((hi for lo, hi in ranges if lo <= n <= hi), None)
        if inside is not None:
            n = inside + 1
            continue
        window_end = min(end, n + _WINDOW - 1)
        # A range starting inside the window ends it early; it is stepped over above.
        window_end = min([window_end, *(lo - 1 for lo, _hi in ranges if n < lo <= window_end)])
        taken = set(
            Customer.objects.filter(number__gte=n, number__lte=window_end).values_list(
                "number", flat=True
            )
        )
        for candidate in range(n, window_end + 1):
            if candidate not in taken and (skip is None or candidate not in skip):
                yield candidate
        n = window_end + 1


def _counter(tenant: Tenant, location: Location | None):
    """(row to lock, where the search starts, where it ends, ranges to skip, what to say
    when it runs out) for the counter that numbers new customers of `location`."""
    if location is not None and location.has_number_range:
        locked = lock_objects.location_counter_for_update(location.pk)
        if locked is None:
            # An actor made before its location left the group (e.g. a cached API key).
            raise Conflict(
                "location_moved",
                _("Location %(code)s no longer belongs to this customer base.")
                % {"code": location.code},
            )
        exhausted = Conflict(
            "number_range_exhausted",
            _("The number range %(low)d-%(high)d of location %(code)s is used up.")
            % {"low": locked.number_from, "high": locked.number_to, "code": locked.code},
        )
        return locked, locked.number_counter + 1, locked.number_to, [], exhausted
    locked = lock_objects.tenant_counter_for_update(tenant.pk)
    exhausted = Conflict("numbers_exhausted", _("All customer numbers are in use."))
    return locked, locked.number_counter + 1, MAX_CUSTOMER_NUMBER, _ranges(), exhausted


def _move_counter(locked: Tenant | Location, to: int) -> None:
    type(locked).objects.filter(pk=locked.pk).update(number_counter=to)


def allocate_number(*, tenant: Tenant, location: Location | None) -> int:
    """The next free number for one new customer. Must run inside the creating
    transaction: the counter row stays locked until it ends."""
    locked, start, end, ranges, exhausted = _counter(tenant, location)
    number = next(_free_numbers(start, end, ranges, None), None)
    if number is None:
        raise exhausted
    _move_counter(locked, number)
    return number


@dataclass
class NumberBlock:
    """Numbers reserved for one bulk creation, handed out in order."""

    numbers: list[int]
    counter_model: type[Tenant] | type[Location] | None = None
    counter_pk: int | None = None
    # The counter as it was before the reservation moved it, and where it moved it to.
    counter_before: int = 0
    counter_after: int = 0
    used: int = field(default=0)

    def take(self) -> int:
        if self.used >= len(self.numbers):
            raise Conflict("numbers_exhausted", _("All customer numbers are in use."))
        number = self.numbers[self.used]
        self.used += 1
        return number

    def __len__(self) -> int:
        return len(self.numbers)


def reserve_numbers(
    *,
    tenant: Tenant,
    location: Location | None,
    count: int,
    skip: Bitmap | None = None,
    keep: bool = True,
) -> NumberBlock:
    """The next `count` free numbers (leaving out those in `skip`, which the caller will
    give customers itself), in a transaction of their own that moves the counter past them.

    Call it outside any other transaction, or the counter stays locked until that ends.
    With `keep=False` (a dry run) the counter is not moved: the numbers are what a real
    run would get now.
    """
    with db.atomic():
        locked, start, end, ranges, exhausted = _counter(tenant, location)
        numbers: list[int] = []
        if count:
            for n in _free_numbers(start, end, ranges, skip):
                numbers.append(n)
                if len(numbers) == count:
                    break
            else:
                raise exhausted
        block = NumberBlock(
            numbers=numbers,
            counter_model=type(locked),
            counter_pk=locked.pk,
            counter_before=locked.number_counter,
            counter_after=numbers[-1] if numbers else locked.number_counter,
        )
        if keep and numbers:
            _move_counter(locked, block.counter_after)
        if not keep:
            db.set_rollback()
    return block


def release_unused(block: NumberBlock) -> None:
    """Give back the numbers of `block` that no customer got, if nobody has taken a number
    from the same counter since (otherwise they stay retired: a gap, never a reuse).

    `block.used` numbers were given to customers that were kept; call this after their
    transaction ended (committed or rolled back, in which case set `used` to 0).
    """
    if block.counter_model is None or len(block) == block.used:
        return
    back_to = block.numbers[block.used - 1] if block.used else block.counter_before
    with db.atomic():
        block.counter_model.objects.filter(
            pk=block.counter_pk, number_counter=block.counter_after
        ).update(number_counter=back_to)
