"""Who is calling: organization and groups from the verified JWT claims, and nothing else.

API Gateway's JWT authorizer has verified the token before the function runs; the claims arrive at
`requestContext.authorizer.jwt.claims`. No path, query or body field can name an organization.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from onboarding.errors import Forbidden, Unauthorized
from onboarding.ids import HOST_ID_PATTERN
from onboarding.settings import get_settings

# Organization ids are SignUpFlow primary keys; anything else is a garbled claim.
_ORG_ID_PATTERN = re.compile(HOST_ID_PATTERN)


class Group(StrEnum):
    ORG_ADMIN = "org_admin"
    PLATFORM_ANALYST = "platform_analyst"


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: str | None
    groups: frozenset[str]


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    claims = _claims(event)
    settings = get_settings()
    org_id = claims.get(settings.org_id_claim)
    if not isinstance(org_id, str) or not _ORG_ID_PATTERN.fullmatch(org_id):
        org_id = None
    return Caller(org_id=org_id, groups=parse_groups(claims.get(settings.groups_claim)))


def authorize(event: Mapping[str, Any], group: Group) -> Caller:
    """The caller, if it belongs to `group`; org routes also need an organization claim.

    No identity at all is a 401; an identity without the route's group is a 403 (a platform analyst on
    an org route, whether or not its token names an organization); an org admin whose token carries
    no valid organization claim is a 401.
    """
    caller = caller_from_event(event)
    if not caller.groups and caller.org_id is None:
        raise Unauthorized("The request carries no verified identity.")
    if group not in caller.groups:
        raise Forbidden(f"This route requires the '{group}' group.")
    if group is Group.ORG_ADMIN and caller.org_id is None:
        raise Unauthorized("The token carries no valid organization claim.")
    return caller


def parse_groups(raw: object) -> frozenset[str]:
    """Groups as API Gateway passes them: a JSON list, a JSON-encoded list, or "[org_admin analyst]"."""
    if isinstance(raw, list):
        return frozenset(item for item in raw if isinstance(item, str) and item)
    if not isinstance(raw, str):
        return frozenset()
    text = raw.strip()
    if text.startswith("[") and '"' in text:
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, list):
            return parse_groups(decoded)
    return frozenset(part for part in re.split(r"[\s,]+", text.strip("[]")) if part)


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = event
    for key in ("requestContext", "authorizer", "jwt", "claims"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}
