"""A real OIDC issuer for tests: an HTTP server thread on 127.0.0.1 serving discovery and
a JWKS, with its own keys (RSA and EC), that signs ID tokens the way CI systems do."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class TestIssuer:
    __test__ = False

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}  # kid -> private key, all published
        self.jwks_fetches = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.kid = self.add_key("RS256")
        self.add_key("ES256")
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_key(self, alg: str = "RS256") -> str:
        """A new published key (a rotation: later tokens sign with it)."""
        kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        if alg == "RS256":
            self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    def jwks(self) -> dict:
        published = []
        for kid, private in self.keys.items():
            if isinstance(private, rsa.RSAPrivateKey):
                data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
                data["alg"] = "RS256"
            else:
                data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
                data["alg"] = "ES256"
            published.append({**data, "kid": kid, "use": "sig"})
        return {"keys": published}

    def claims(self, audience: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.url,
            "aud": audience,
            "sub": "repo:acme/app:ref:refs/heads/main",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "repository": "acme/app",
            "ref": "refs/heads/main",
            **extra,
        }

    def sign(self, claims: dict[str, Any], kid: str | None = None, private: Any = None) -> str:
        kid = kid or self.kid
        key = private if private is not None else self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def token(self, audience: str, kid: str | None = None, **extra: Any) -> str:
        return self.sign(self.claims(audience, **extra), kid)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        return Handler
