"""The durable outbox: messages written in the transaction of the change they report, delivered by
a worker in every server process (``service``)."""
