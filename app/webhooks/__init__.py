"""Webhooks for OAuth clients: Standard Webhooks delivery of appointment events (issue 27).

An admin registers endpoints per OAuth client (``app.admin.webhooks``; ``service``). When an
appointment is booked, moved or cancelled, the notice booking writes at commit
(``app.booking.notices``) is also rendered here (``fanout``, composed in ``app.renderers``): in
the same transaction, one outbox message per enabled endpoint subscribed to the event whose
client the appointment's patient currently authorizes. The outbox delivers them like mail, with
retries and a dead-letter state, through the sender ``delivery`` that the composition root hands
it (``app.main``): it checks the authorization again at each try, signs the body with the
endpoint's secret (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,...``) and posts
it to the endpoint's checked address (``addresses``). docs/integrate.md "Webhooks" is the
receiver's side.
"""
