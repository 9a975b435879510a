"""The one exception type for domain errors: a machine code, a message, messages per field."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A rule was broken; nothing was changed.

    `status` is the HTTP status the API answers with; the portal shows `fields` next to the
    form fields and the CLI exits with status 2.
    """

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: Mapping[str, list[str] | str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.fields: dict[str, list[str]] = {
            k: [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in (fields or {}).items()
        }
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body

    def __str__(self) -> str:
        if not self.fields:
            return self.message
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.fields.items())
        return f"{self.message} ({details})"


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "Not found.", code: str = "not_found") -> None:
        super().__init__(code, message)


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str, code: str = "permission_denied", **kw) -> None:
        super().__init__(code, message, **kw)


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412


class FieldErrors:
    """Collects messages per field while validating, then raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, code: str = "invalid", message: str = "The input is not valid.") -> None:
        if self.errors:
            raise DomainError(code, message, fields=self.errors, status=422)
