"""The FHIR R4 facade (``/fhir/r4``): the directory, the free slots and the patient's appointments
as FHIR resources, over the same services as the JSON API (docs/integrate.md).

Nothing here decides anything: who may call, what is free, what may be booked and what is audited
are the booking domain's, reached through the same dependencies and services as ``/api/v1``; this
package only translates, and validates every resource it writes with ``fhir.resources``
(``resources``). Errors are the JSON API's, written as ``OperationOutcome`` (``outcomes``).
"""
