"""FHIR R4B Bundles read back with ``fhir.resources``: their resources, as the models they parse to.

A Bundle entry's ``resource`` is typed as any ``Resource`` (or none); the models parse each one to
the class its ``resourceType`` names, so a test asks for the kind it expects and gets that class.
"""

from __future__ import annotations

from typing import TypeVar

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

R = TypeVar("R", bound=Resource)


def bundle_resources(bundle: Bundle) -> list[Resource]:
    """Every entry's resource, in order; an entry without one fails the test."""
    resources = []
    for entry in bundle.entry or []:
        assert entry.resource is not None, f"a Bundle entry without a resource: {entry.fullUrl}"
        resources.append(entry.resource)
    return resources


def resources_of(bundle: Bundle, kind: type[R]) -> list[R]:
    """The entries' resources whose ``resourceType`` is ``kind``'s, each parsed as ``kind``."""
    found = []
    for resource in bundle_resources(bundle):
        if resource.get_resource_type() == kind.get_resource_type():
            assert isinstance(resource, kind), type(resource)
            found.append(resource)
    return found


def reference(to: Reference | None) -> str | None:
    """What a Reference element points at (its ``reference``); a missing element fails the test."""
    assert to is not None, "no Reference where one was expected"
    return to.reference
