"""Consent: the Charte e-RDV registry (loaded from ``charter/``), and later consent decisions.

``app.charter.registry`` is pure (no database, no HTTP): it loads the versioned clauses and purposes,
validates them, and checks them against ``charter/charter.lock.json``. This package deliberately
imports nothing at import time, so ``python -m app.charter.registry`` runs the module exactly once.
"""
