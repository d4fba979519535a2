"""What ``resources.validated`` lets out: every resource of a page checked against its R4 structure,
the later slots of a page by the model's own types for the members that differ from a slot the
model accepted whole (B19). A page with one bad slot anywhere is refused, never sent."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from app.fhir import resources
from app.schedule.slots import FreeSlots

BASE = "https://erdv.example/fhir/r4"
REASONS = {str(uuid.uuid4()): "Consultation", str(uuid.uuid4()): "Suivi"}
_MINUTE = 29_400_000  # an instant in 2025, in minutes since 1970


def _page() -> dict[str, Any]:
    first, second = REASONS
    rows = [(_MINUTE + 15 * i, _MINUTE + 15 * i + 15, 60, 60, first, "") for i in range(8)]
    rows += [(_MINUTE + 30 * i, _MINUTE + 30 * i + 30, 60, 60, second, "") for i in range(4)]
    slots = resources.slots(uuid.uuid4(), FreeSlots(rows), REASONS)
    return resources.bundle(BASE, slots, self_url=f"{BASE}/Slot?schedule=x", total=len(slots))


def test_a_page_of_slots_is_served_as_built() -> None:
    page = _page()
    assert resources.validated(copy.deepcopy(page)) == {
        k: v for k, v in page.items() if v is not None
    }


#: changes to one slot: some the model refuses, some it lets through (it reads ``status`` as any
#: code and a number as an instant); the page's verdict must be the model's for that slot alone
CHANGES = [
    ("start", "2025-11-24T08:00:00"),  # an instant needs its offset
    ("end", "2025-13-24T08:15:00+01:00"),  # no 13th month
    ("id", "slot with spaces"),  # an id's characters
    ("id", "x" * 300),  # and its length
    ("start", None),  # a slot must have a start: another shape, validated whole
    ("schedule", {"reference": 12}),  # another shape, validated whole
    ("start", 1_700_000_000),
    ("status", "bogus"),
    ("id", "another-valid.id"),
]


def _model_accepts(slot: dict[str, Any]) -> bool:
    try:
        resources._model("Slot").model_validate(slot)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("member", "value"), CHANGES)
def test_a_slot_late_in_a_page_gets_the_verdict_of_its_whole_model(member: str, value: Any) -> None:
    page = _page()
    last = page["entry"][-1]["resource"]  # of a shape the page has already shown
    last[member] = value
    if _model_accepts(last):
        resources.validated(page)
    else:
        with pytest.raises(ValidationError):
            resources.validated(page)


def test_the_changes_include_refusals() -> None:
    refused = [
        c for c in CHANGES if not _model_accepts({**_page()["entry"][0]["resource"], c[0]: c[1]})
    ]
    assert len(refused) == 6


def test_a_bad_entry_url_late_in_a_page_is_refused() -> None:
    page = _page()
    page["entry"][-1]["fullUrl"] = 12  # a uri is a string
    with pytest.raises(ValidationError):
        resources.validated(page)


def test_a_bad_first_slot_is_refused_by_its_whole_model() -> None:
    page = _page()
    page["entry"][0]["resource"]["serviceType"] = [{"coding": "not a list"}]
    with pytest.raises(ValidationError):
        resources.validated(page)
