"""Consent: each person's decisions, purpose by purpose and version by version, with their receipts.

The purposes and their texts are the charter's (``app.charter``: loaded from ``charter/`` and pinned by
``charter/charter.lock.json``); this package records who granted or withdrew which version, gates
booking and listing on the required ones, and exports the consent log (docs/charter.md "Consent
purposes").
"""
