"""Booking: free slots (pure functions), the cell grid that forbids double booking, appointments.

``slots`` and ``timegrid`` do no I/O and never read the clock; their module docstrings state the
daylight-saving and grid semantics. Their refusals are ``ValueError``s carrying a problem ``code``:

    ScheduleError               validation_error      input that cannot describe a real schedule
    ├── OffGrid                 validation_error      instant or duration off the 5-minute UTC grid
    │   └── UnsupportedTimezone validation_error      zone offset not a whole number of cells
    ├── InvalidAvailability     invalid_availability  malformed or overlapping opening blocks
    └── InvalidWindow           validation_error      naive, empty or over-31-day query window
"""
