"""Notifications: what erdv tells people, and when (docs/api.md "Notifications").

- ``notices``: a mail to the patient for every booking, move and cancellation, whoever made it, with
  an iCalendar invitation or cancellation; a mail to the practitioner for those a patient or an
  application made, unless the practitioner turned it off.
- ``reminders``: the periodic job that stages a reminder per appointment, offset
  (``ERDV_REMINDER_HOURS``) and channel, for patients who granted ``reminders-email`` or
  ``reminders-sms``; each is checked again when it is written (still booked, same time, consent
  still granted).
- ``contracts``: a practitioner is told once per version when the practitioner contract changes (C11).
- ``messages``: the words, French and English, plain text and HTML, never health data.
- ``router``: ``GET /api/v1/me/notifications`` (my messages) and ``PUT`` (the practitioner's switch).

Every message travels through the durable outbox (``app.outbox``): staged in the transaction of
what it reports, delivered after it, retried, and dead-lettered for an admin to see.
"""
