"""A place on one line (mails, calendar files, waiting-list offers): the city once. People type
"7 rue des Lilas, 75020 Paris" as the address and "Paris" as the city; the demo's confirmation
and its calendar file read "12 rue de Rivoli, 75004 Paris, Paris"."""

from __future__ import annotations

import pytest

from app.practice.places import place_line


@pytest.mark.parametrize(
    ("address", "city", "line"),
    [
        ("7 rue des Lilas, 75020 Paris", "Paris", "7 rue des Lilas, 75020 Paris"),
        ("12 rue de Rivoli, 75004 PARIS ", "Paris", "12 rue de Rivoli, 75004 PARIS"),
        ("5 avenue Foch, Lyon", "Lyon", "5 avenue Foch, Lyon"),
        # a street named after the city is not the city
        ("3 rue de Paris", "Paris", "3 rue de Paris, Paris"),
        ("1 quai du Port", "Marseille", "1 quai du Port, Marseille"),
        ("", "Lyon", "Lyon"),
        ("2 place X", "", "2 place X"),
        (None, None, ""),
        (
            "10 rue (Bis), 13002 Saint-Rémy-de-Provence",
            "Saint-Rémy-de-Provence",
            "10 rue (Bis), 13002 Saint-Rémy-de-Provence",
        ),
    ],
)
def test_the_city_once(address: str | None, city: str | None, line: str) -> None:
    assert place_line(address, city) == line
