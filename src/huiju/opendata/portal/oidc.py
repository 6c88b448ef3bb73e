"""Login through the external unified identity provider (统一身份认证) by OpenID Connect, with authlib.

Authorization-code flow with PKCE (S256), state and nonce; the id_token is verified against the
provider's published keys (issuer, audience, expiry, nonce, at_hash) before anyone is logged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from huiju.errors import Invalid, Unauthenticated


ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    name: str
    claims: dict[str, Any]


class OidcProvider:
    """One configured identity provider: discovery, the authorization URL and the code exchange."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, timeout: float = 10.0) -> None:
        if not (issuer and client_id):
            raise Invalid("Login through the unified identity provider is not configured on this platform")
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self._metadata: dict[str, Any] | None = None

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError):
            raise Invalid("The unified identity provider did not answer; try again later") from None

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once; its issuer must be the configured one."""
        if self._metadata is None:
            meta = self._get(f"{self.issuer}/.well-known/openid-configuration")
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise Invalid("The identity provider's discovery document names another issuer")
            self._metadata = meta
        return self._metadata

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        return prepare_grant_uri(self.metadata()["authorization_endpoint"], self.client_id, "code",
                                 redirect_uri=redirect_uri, scope="openid profile", state=state, nonce=nonce,
                                 code_challenge=create_s256_code_challenge(code_verifier),
                                 code_challenge_method="S256")

    def exchange(self, *, redirect_uri: str, code: str, code_verifier: str, nonce: str) -> Identity:
        """Trade the code for tokens (client_secret_basic) and verify the id_token; any failure refuses the login."""
        meta = self.metadata()
        try:
            response = httpx.post(meta["token_endpoint"], auth=(self.client_id, self.client_secret),
                                  data={"grant_type": "authorization_code", "code": code,
                                        "redirect_uri": redirect_uri, "code_verifier": code_verifier},
                                  headers={"Accept": "application/json"}, timeout=self.timeout)
            token = response.json()
        except (httpx.HTTPError, ValueError):
            raise Unauthenticated("The identity provider refused the login") from None
        if response.status_code != 200 or not isinstance(token, dict):
            raise Unauthenticated("The identity provider refused the login")
        if "id_token" not in token:
            raise Unauthenticated("The identity provider sent no identity token")
        keys = KeySet.import_key_set(self._get(meta["jwks_uri"]))
        # asymmetric signatures only: never "none", never an HMAC keyed with the (shared) client secret
        algorithms = [a for a in meta.get("id_token_signing_alg_values_supported") or ["RS256"]
                      if a in ASYMMETRIC] or ["RS256"]
        try:
            decoded = jwt.decode(token["id_token"], keys, registry=JWSRegistry(algorithms=algorithms))
            claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [self.issuer]}},
                                 {"nonce": nonce, "client_id": self.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(leeway=60)
        except (JoseError, ValueError):
            raise Unauthenticated("The identity token from the provider is not valid") from None
        subject = str(claims["sub"])
        name = str(claims.get("name") or claims.get("preferred_username") or subject)
        return Identity(self.issuer, subject, name, dict(claims))
