"""OAuth 2 for third-party platforms: an Authlib authorization server on FastAPI, clients, tokens,
and the resource-server dependency (shared/API.md "OAuth 2", SECURITY.md "OAuth 2 authorization
server")."""
