"""What every portal form shares."""

from __future__ import annotations

from .errors import DomainError


class DomainErrorsMixin:
    """Shows a service's refusal on the form that sent the data."""

    def add_domain_error(self, error: DomainError) -> None:
        """Put the service's messages next to their fields; the rest above the form."""
        for field, messages in error.fields.items():
            name = self.field_name_for(field)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        if not error.fields:
            self.add_error(None, error.message)

    def field_name_for(self, service_field: str) -> str:
        """The form field that shows a service field's message (the same name by default)."""
        return service_field
