"""Who is calling: organization and groups from the verified JWT claims, and nothing else.

API Gateway's JWT authorizer has verified the token before the function runs; the claims arrive at
`requestContext.authorizer.jwt.claims`. No path, query or body field can name an organization.
"""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from onboarding.errors import Forbidden, Unauthorized
from onboarding.ids import HOST_ID_PATTERN
from onboarding.settings import get_settings

# Organization ids are SignUpFlow primary keys; anything else is a garbled claim.
_ORG_ID_PATTERN = re.compile(HOST_ID_PATTERN)


class Group(StrEnum):
    ORG_ADMIN = "org_admin"
    PLATFORM_ANALYST = "platform_analyst"


class Caller(NamedTuple):
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
    no valid organization claim is a 401 that names the claim.
    """
    caller = caller_from_event(event)
    if not caller.groups and caller.org_id is None:
        raise Unauthorized("The request carries no verified identity.")
    if group not in caller.groups:
        raise Forbidden(f"This route requires the '{group}' group.")
    if group is Group.ORG_ADMIN and caller.org_id is None:
        raise _missing_organization(_claims(event))
    return caller


def _missing_organization(claims: Mapping[str, Any]) -> Unauthorized:
    name = get_settings().org_id_claim
    value = claims.get(name)
    if value is None or value == "":
        message = f"The token has no '{name}' claim naming the caller's organization."
        reason = "missing"
        if claims.get("token_use") == "access":
            # The usual cause: a Cognito access token, which carries no custom attributes of its own.
            message += (
                " Cognito access tokens carry it only when the user pool's pre token generation"
                " trigger (AccessTokenClaimsFunction) adds it; otherwise send the ID token."
            )
    else:
        message = f"The token's '{name}' claim is not a valid organization id."
        reason = "invalid"
    return Unauthorized(message, details=[{"field": f"claims.{name}", "reason": reason}])


# A group name as it may appear in the flattened claim: API Gateway joins a list claim's members with
# ASCII spaces ("[org_admin analyst]"), and Cognito group names cannot contain spaces. A member holding
# any other separator or list syntax (a comma, a semicolon, other whitespace such as a non-breaking
# space, control characters, brackets, quotes) is refused as a whole, never split: "volunteers,org_admin"
# is one group that grants nothing.
_GROUP_NAME = re.compile(r'^[^\s\x00-\x1f\x7f,;\[\]"]+$')


def parse_groups(raw: object) -> frozenset[str]:
    """Groups as API Gateway passes them: a JSON list, or the flattened "[org_admin analyst]" string.

    The string is split on ASCII spaces only; members that are not plain group names are dropped.
    """
    members: list[object]
    if isinstance(raw, list):
        members = raw
    elif isinstance(raw, str):
        text = raw.strip(" ")
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        members = list(text.split(" "))
    else:
        return frozenset()
    return frozenset(
        member for member in members if isinstance(member, str) and _GROUP_NAME.fullmatch(member)
    )


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = event
    for key in ("requestContext", "authorizer", "jwt", "claims"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def organization_claims(user_attributes: Mapping[str, str]) -> dict[str, str]:
    """The claims a Cognito token needs for this service that an access token lacks: the organization.

    Copied from the user's attribute of the same name (`custom:org_id`, ORG_ID_CLAIM) as it is, so that
    a malformed value still reaches the API and is refused there with a message that names it. A user
    without the attribute (a platform analyst) gets no claim.
    """
    name = get_settings().org_id_claim
    value = user_attributes.get(name)
    return {name: value} if isinstance(value, str) and value else {}
