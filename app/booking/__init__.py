"""Booking: the directory (search, profiles, free slots), appointments (book, read, cancel, move,
with no double booking: the cell grid of ``booking_cell``), the practitioner's agenda and export,
absences over appointments, and the visit reasons' retention (charter C7).

The pure slot engine it lays slots with is ``app.schedule``; the services here read the rows
(``repository``, ``statements``), apply the rules, and audit every read of personal data.
"""
