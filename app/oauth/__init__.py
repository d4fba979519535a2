"""OAuth 2 for third-party platforms: an Authlib authorization server on FastAPI, clients and tokens
(docs/api.md "OAuth 2", docs/security.md "OAuth 2 authorization server"). Routes that accept its
tokens declare it with ``app.auth.authenticator.Authenticator(..., scope=...)``; the token itself is
verified here (``service.authenticate_bearer``), connected to the door by ``app.reactions``.
"""
