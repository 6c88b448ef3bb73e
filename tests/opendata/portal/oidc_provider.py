"""A small OpenID Connect provider for tests: an ASGI app served over real HTTP that signs id_tokens.

It stands in for the bureau's unified identity platform (an outside system): discovery, an
authorize endpoint that logs in a fixed person, a token endpoint checking the client secret and
the PKCE verifier, and its public keys.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import uvicorn
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from tests.conftest import _free_port, wait_for


@dataclass
class FakeIdP:
    client_id: str = "huiju-portal"
    client_secret: str = "s3cret-client"
    subject: str = "citizen-0001"
    name: str = "张三"
    port: int = field(default_factory=_free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    tamper: bool = False  # sign with another key, as a forger would
    codes: dict[str, dict] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def discovery(request: Request):
            return JSONResponse({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                                 "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                                 "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                 "id_token_signing_alg_values_supported": ["RS256"]})

        async def authorize(request: Request):
            q = request.query_params
            if q.get("client_id") != self.client_id or q.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"],
                                "redirect_uri": q["redirect_uri"]}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}",
                                    status_code=302)

        async def token(request: Request):
            auth = request.headers.get("authorization", "")
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if auth != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            grant = self.codes.pop(str(form.get("code")), None)
            if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(str(form.get("code_verifier")).encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            access = secrets.token_urlsafe(24)
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": self.subject, "aud": self.client_id, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], "name": self.name, "at_hash": create_half_hash(access, "RS256").decode()}
            key = RSAKey.generate_key(2048, parameters={"kid": "k1"}) if self.tamper else self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                                 "id_token": id_token})

        async def jwks(request: Request):
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/authorize", authorize),
                                 Route("/token", token, methods=["POST"]), Route("/jwks", jwks)])

    def serve(self):
        """Run on a real port in a thread; returns a function that stops it."""
        server = uvicorn.Server(uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started)

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=10)

        return stop
