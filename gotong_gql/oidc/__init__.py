"""Signing in with OpenID Connect providers (SPEC 10): authorization code flow with PKCE."""
