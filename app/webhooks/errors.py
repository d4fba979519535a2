"""Errors of the webhooks domain (docs/api.md "Errors").

    NotFound (404)        WebhookNotFound (not_found); an unknown client is
                          app.oauth.errors.ClientNotFound (not_found), as on the client routes
    Unprocessable (422)   InvalidWebhookUrl (invalid_webhook_url)

An unknown event is refused by the request schema (422 ``validation_error``).
"""

from __future__ import annotations

from app.core.errors import NotFound, Unprocessable


class WebhookNotFound(NotFound):
    title = "No such webhook endpoint"


class InvalidWebhookUrl(Unprocessable):
    """Not https (plain http only to a loopback address, in development), a user name or a
    fragment in it, a host that does not resolve, or one that resolves to an internal address
    (``app.webhooks.addresses``)."""

    code = "invalid_webhook_url"
    title = "This webhook URL cannot be used"
