"""Domain errors. Each carries its HTTP status and contract error code; `api` turns them into responses.

Every error a client can receive has a code of its own: a client tells "onboarding not started" from
"unknown tutorial" (both 404) or "sample data exists" from "wizard already completed" (both 409) by the
code alone. The generic classes (`NotFound`, `Conflict`) are bases, never raised themselves. A class's
docstring is its description in openapi.json, where each operation lists the codes it can answer.
"""

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers: dict[str, str] = {}

    @classmethod
    def description(cls) -> str:
        """What the error means, for OpenAPI: the first paragraph of the class docstring."""
        return " ".join((cls.__doc__ or cls.code).strip().split("\n\n")[0].split())


class MalformedRequest(DomainError):
    """The body is not valid JSON, or not UTF-8 text."""

    status = 400
    code = "malformed_request"


class Unauthorized(DomainError):
    """No verified identity, or no valid organization claim."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Authenticated, but not in the group this route requires."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Base of every 404; never raised itself."""

    status = 404
    code = "not_found"


class RouteNotFound(NotFound):
    """No route of the API has this path."""

    code = "route_not_found"


class OrganizationNotFound(NotFound):
    """The organization named by the token does not exist."""

    code = "organization_not_found"


class OnboardingNotStarted(NotFound):
    """Onboarding has not been started for the organization: POST /v1/onboarding first."""

    code = "onboarding_not_started"


class MethodNotAllowed(DomainError):
    """The path exists, but not with this method (the `Allow` header lists those it has)."""

    status = 405
    code = "method_not_allowed"


class Conflict(DomainError):
    """Base of every 409; never raised itself."""

    status = 409
    code = "conflict"


class DataConflict(Conflict):
    """The database refused the change as conflicting with data changed meanwhile (a uniqueness,
    foreign key or exclusion constraint); reload and try again."""

    code = "data_conflict"


class PayloadTooLarge(DomainError):
    """The request body is over the limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """A body sent as something else than application/json."""

    status = 415
    code = "unsupported_media_type"


class InvalidInput(DomainError):
    """The request is not valid: `details` name each field, why, and the rule's `type`."""

    status = 422
    code = "validation_error"


class QuotaExceeded(DomainError):
    """A per-organization cap reached; `Retry-After` says when it resets (seconds)."""

    status = 429
    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.headers["Retry-After"] = str(retry_after_seconds)


class DatabaseUnavailable(DomainError):
    """The database is unavailable or timing out; retry later."""

    status = 503
    code = "database_unavailable"
