"""Pull tokens for an external scanner adapter, which pulls the image it is asked to scan.

One token per scan: pull on that one repository, for as long as the scan may take,
issued to the ``scanner`` principal rather than to a person, so no account's rights are
borrowed and the access log names the scanner. /v2 takes it like any bearer token we sign.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.auth.principal import SCANNER
from dockyard.auth.registry_tokens import Grant, TokenSigner
from dockyard.config import Settings

# The adapter may start pulling a little after it accepted the scan (its own queue).
GRACE_SECONDS = 60


def scanner_authorization(
    settings: Settings, signer: Callable[[], TokenSigner]
) -> Callable[[str], str | None]:
    """repository -> the Authorization header value the adapter pulls it with (None when
    the registry is open, ``auth: none``). ``signer`` is called once, on first use."""
    if settings.auth != "token":
        return lambda _repository: None
    ttl = settings.scanner_timeout_seconds + GRACE_SECONDS
    made: list[TokenSigner] = []

    def authorization(repository: str) -> str:
        if not made:
            made.append(signer())
        grant = Grant("repository", repository, ("pull",))
        token, _ = made[0].issue(SCANNER.name, {"kind": SCANNER.kind}, [grant], ttl)
        return f"Bearer {token}"

    return authorization
