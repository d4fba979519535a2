"""What several test packages share, one module per kind of help.

- ``backends``: the two databases every database test runs on, and the test secrets;
- ``problems``: the RFC 9457 problem documents of ``shared/API.md`` and the 429 of an allowance;
- ``statements``: counting the SQL statements a request runs (hot-path budgets);
- ``booking``: a listed practitioner, a consenting patient, a booking, as a user would make them;
- ``cli``: the ``erdv`` command in a subprocess, free ports, served processes;
- ``fhir``: the resources of a FHIR Bundle, as the R4B models they parse to.

Fixtures stay in ``conftest.py``; these are plain functions a test imports.
"""
