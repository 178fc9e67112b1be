"""Send one signed delivery: to the address the URL was checked against, with a
timeout, never following a redirect. Answers what happened for the delivery log."""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING

from dockyard.db.queries.hooks import RESPONSE_KEEP, Attempt
from dockyard.webhooks.signature import sign
from dockyard.webhooks.ssrf import AllowList, Refused, resolve

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Dockyard-Webhook/1"


class Sender:
    """One per worker: plain-HTTP connections are pooled per address; HTTPS gets a
    client per request, so a pooled TLS connection never serves another server name."""

    def __init__(
        self, allow: AllowList, timeout: float = TIMEOUT_SECONDS, verify: str | bool = True
    ) -> None:
        self.allow = allow
        self.timeout = timeout
        # a CA bundle to trust (tests); True: the default trust store
        self.verify = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        )
        self._pooled: httpx.Client | None = None  # made at the first delivery

    @property
    def _plain(self) -> httpx.Client:
        if self._pooled is None:
            self._pooled = self._client()
        return self._pooled

    def _client(self) -> httpx.Client:
        import httpx  # here: a server that sends no webhook never loads it (a big import)

        return httpx.Client(
            follow_redirects=False, timeout=self.timeout, trust_env=False, verify=self.verify
        )

    def close(self) -> None:
        if self._pooled is not None:
            self._pooled.close()

    def send(
        self, url: str, secret: str, delivery_id: str, event: str, body: bytes, content_type: str
    ) -> Attempt:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = resolve(url, self.allow)
        except Refused as refused:
            return Attempt(None, took(), None, str(refused))
        headers = {
            "Host": target.host_header,
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Dockyard-Event": event,
            "X-Dockyard-Delivery": delivery_id,
            "X-Dockyard-Signature": sign(secret, body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        import httpx

        client = self._plain if target.scheme == "http" else self._client()
        try:
            request = client.build_request(
                "POST", target.pinned_url(url), content=body, headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                text = _head(response)
            finally:
                response.close()
        except httpx.HTTPError as error:
            return Attempt(None, took(), None, f"{type(error).__name__}: {error}"[:500])
        finally:
            if client is not self._plain:
                client.close()
        error = None if response.status_code < 300 else f"HTTP {response.status_code}"
        return Attempt(response.status_code, took(), text, error)


def _head(response: httpx.Response) -> str:
    """The first bytes of the answer, never the whole of a huge one."""
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= RESPONSE_KEEP:
            break
    return kept[:RESPONSE_KEEP].decode("utf-8", errors="replace")
