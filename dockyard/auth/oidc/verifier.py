"""An ID token's signature and registered claims, checked with PyJWT.

Only RS256 and ES256 are accepted (never ``none`` nor an HMAC, which would let anyone
holding the public key sign). ``iss`` must be the issuer whose keys verify it, ``aud``
one of the audiences the caller expects, and ``exp``, ``nbf`` and ``iat`` are checked with
a small leeway for clocks; ``exp``, ``iat`` and ``sub`` must be present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from dockyard.auth.oidc import OidcRefused
from dockyard.auth.oidc.keys import ALGORITHMS, IssuerKeys

LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Unverified:
    """What a token says about itself before any check: enough to find its trusts."""

    issuer: str
    kid: str
    algorithm: str


def peek(token: str) -> Unverified:
    """The token's issuer, key id and algorithm, or OidcRefused if it is no usable JWT."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OidcRefused("the password is not a JWT (an OIDC ID token was expected)") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise OidcRefused(f"tokens signed with {str(algorithm)[:20]!r} are not accepted")
    kid, issuer = header.get("kid"), claims.get("iss")
    if not isinstance(kid, str) or not kid:
        raise OidcRefused("the token names no signing key (kid)")
    if not isinstance(issuer, str) or not issuer:
        raise OidcRefused("the token names no issuer (iss)")
    return Unverified(issuer, kid, algorithm)


def verify(
    token: str, seen: Unverified, audiences: set[str], keys: IssuerKeys, plain_http: bool
) -> dict[str, Any]:
    """The token's claims once its signature, issuer, audience and times check out."""
    key = keys.key(seen.issuer, seen.kid, plain_http)
    if key.algorithm_name != seen.algorithm:
        raise OidcRefused(f"the key {seen.kid[:80]!r} does not sign {seen.algorithm}")
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[seen.algorithm],
            audience=sorted(audiences),
            issuer=seen.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise OidcRefused("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise OidcRefused("the token is not valid yet (nbf or iat in the future)") from None
    except jwt.InvalidAudienceError:
        raise OidcRefused("the token's audience (aud) is not one a trust expects") from None
    except jwt.InvalidSignatureError:
        raise OidcRefused("the token's signature does not verify") from None
    except jwt.PyJWTError as error:
        raise OidcRefused(f"the token is invalid: {str(error)[:200]}") from None
