"""The charter as data: the shipped files load, match their lock, and cannot drift silently.

Why it matters: a consent receipt pins a purpose version and a text hash (GDPR Art. 7(1)). A text that
changes under the same version would rewrite what earlier decisions meant, so these tests prove that
such an edit fails ``check_lock`` and that ``lock`` refuses it, naming the item. No database here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from app.charter.lock import check_lock, load_lock, main
from app.charter.model import (
    DEFAULT_CHARTER_DIR,
    LOCK_FILE_NAME,
    Audience,
    Charter,
    CharterError,
    Gate,
    PurposeId,
    PurposeKind,
    canonical_text,
    text_sha256,
)
from app.charter.registry import default_charter, load_charter

# ---------------------------------------------------------------------------------------------------
# Helpers: a copy of charter/ to edit, and a tiny TOML writer for the shapes our files use.

#: the charter's version as committed: each test edits a copy from there
CHARTER = default_charter().version


@pytest.fixture
def charter_dir(tmp_path: Path) -> Path:
    target = tmp_path / "charter"
    shutil.copytree(DEFAULT_CHARTER_DIR, target)
    return target


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def dump_toml(data: dict[str, Any]) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for key, table in data.items():
        if isinstance(table, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(dump_toml(data), encoding="utf-8")


def edit(path: Path, **changes: Any) -> None:
    """Rewrite a clause or purpose file with ``changes``; ``key__sub`` edits a table entry."""
    data = read(path)
    for key, value in changes.items():
        if "__" in key:
            table, sub = key.split("__")
            data[table][sub] = value
        else:
            data[key] = value
    write(path, data)


def run_command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------------------------------
# The shipped data


@pytest.fixture(scope="module")
def charter() -> Charter:
    return load_charter()


def test_shipped_charter_loads(charter: Charter) -> None:
    assert charter.version >= 1
    assert charter.signed_on.isoformat() == "2018-02-15"
    assert "URPS" in charter.author
    assert default_charter() is default_charter()
    assert default_charter() == charter


def test_clauses_c1_to_c14_are_all_present_in_order(charter: Charter) -> None:
    assert [c.id for c in charter.clauses] == [f"C{n}" for n in range(1, 15)]
    for clause in charter.clauses:
        assert clause.version >= 1
        assert all((clause.title.fr, clause.title.en, clause.summary.fr, clause.summary.en))
        assert clause.text.fr != clause.text.en
        assert clause.sources


def test_purposes_are_the_closed_list_with_the_charter_md_rules(charter: Charter) -> None:
    expected = {
        "privacy-notice": ("patient", "acknowledgement", "booking"),
        "reminders-email": ("patient", "consent", None),
        "reminders-sms": ("patient", "consent", None),
        "third-party-sharing": ("patient", "consent", None),
        "profile-publication": ("practitioner", "agreement", "listing"),
        "practitioner-contract": ("practitioner", "agreement", "listing"),
        "deontology": ("practitioner", "agreement", "listing"),
    }
    actual = {
        p.id.value: (p.audience.value, p.kind.value, p.required_for and p.required_for.value)
        for p in charter.purposes
    }
    assert actual == expected
    assert [p.id for p in charter.purposes] == list(PurposeId)
    assert all(p.default is False for p in charter.purposes), "every purpose is off by default"


def test_every_purpose_refers_to_existing_clauses(charter: Charter) -> None:
    clause_ids = {c.id for c in charter.clauses}
    for purpose in charter.purposes:
        assert purpose.clause_ids
        assert set(purpose.clause_ids) <= clause_ids, purpose.id
    # The ties shared/CHARTER.md names explicitly.
    assert {"C8", "C9"} <= set(charter.purpose("third-party-sharing").clause_ids)
    assert "C2" in charter.purpose("profile-publication").clause_ids
    assert {"C11", "C12"} <= set(charter.purpose("practitioner-contract").clause_ids)
    assert "C1" in charter.purpose("deontology").clause_ids


def test_the_privacy_notice_informs_and_is_not_a_consent(charter: Charter) -> None:
    """GDPR Art. 13: controller, DPO, purposes, legal bases, retention, rights, CNIL; booking ≠ consent."""
    notice = charter.purpose(PurposeId.PRIVACY_NOTICE)
    assert notice.kind is PurposeKind.ACKNOWLEDGEMENT
    fr, en = notice.text.fr, notice.text.en
    assert "Ce n'est pas un consentement" in fr
    assert "This is not a consent" in en
    for needle in (
        "Responsable du traitement",
        "Délégué à la protection des données",
        "article 6, paragraphe 1, point b",
        "article 9, paragraphe 2, point h",
        "Durées de conservation",
        "articles 15 à 20",
        "HDS",
        "CNIL",
    ):
        assert needle in fr, needle
    for needle in (
        "Controller",
        "Data protection officer",
        "6(1)(b)",
        "9(2)(h)",
        "Retention",
        "CNIL",
    ):
        assert needle in en, needle


def test_gating_helpers(charter: Charter) -> None:
    assert [p.id for p in charter.purposes_required_for("booking")] == [PurposeId.PRIVACY_NOTICE]
    assert {p.id.value for p in charter.purposes_required_for(Gate.LISTING)} == {
        "profile-publication",
        "practitioner-contract",
        "deontology",
    }
    assert all(
        p.kind is not PurposeKind.CONSENT for p in charter.purposes_required_for(Gate.BOOKING)
    )
    assert charter.purpose("reminders-sms").audience is Audience.PATIENT
    assert charter.clause("C9").id == "C9"
    with pytest.raises(KeyError, match="newsletter"):
        charter.purpose("newsletter")
    with pytest.raises(KeyError, match="C15"):
        charter.clause("C15")
    with pytest.raises(ValueError, match="payment"):
        charter.purposes_required_for("payment")


def test_loaded_objects_are_frozen(charter: Charter) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        charter.clause("C1").version = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        charter.purposes[0].text.fr = "autre chose"  # type: ignore[misc]


def test_shipped_lock_matches(charter: Charter) -> None:
    problems = check_lock(charter, load_lock(DEFAULT_CHARTER_DIR / LOCK_FILE_NAME))
    assert problems == [], "\n".join(problems)


def test_check_command_passes_on_shipped_data() -> None:
    """The real entry point, as CI or a reviewer runs it."""
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "app.charter.lock", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "14 clauses, 7 purposes match" in result.stdout
    assert result.stderr == ""


# ---------------------------------------------------------------------------------------------------
# Canonical text


def test_canonical_hash_of_a_plain_text_is_its_sha256() -> None:
    assert text_sha256("abc") == hashlib.sha256(b"abc").hexdigest()
    assert text_sha256("é") == hashlib.sha256("é".encode()).hexdigest()


def test_canonicalisation_ignores_only_encoding_noise() -> None:
    reference = "Première ligne.\n\n- un point ;\n- un autre."
    nfd = unicodedata.normalize("NFD", reference)
    assert nfd != reference
    noisy = "\n\n" + nfd.replace("\n", "  \t\r\n") + "\n\n"
    assert canonical_text(noisy) == reference
    assert text_sha256(noisy) == text_sha256(reference)
    assert canonical_text("a\rb") == "a\nb"
    # What a reader sees still counts: inner spaces, words, paragraphs.
    assert text_sha256("Première  ligne.\n\n- un point ;\n- un autre.") != text_sha256(reference)
    assert text_sha256(reference.replace("\n\n", "\n")) != text_sha256(reference)
    assert text_sha256(" " + reference) != text_sha256(reference)


def test_toml_layout_does_not_change_the_hashes(charter_dir: Path) -> None:
    """Rewriting every file in another TOML style (escaped strings, CRLF inside) changes no hash."""
    for path in [*charter_dir.glob("clauses/*.toml"), *charter_dir.glob("purposes/*.toml")]:
        data = read(path)
        data["text"] = {lang: text.replace("\n", "   \r\n") for lang, text in data["text"].items()}
        write(path, data)
    charter = load_charter(charter_dir)
    assert check_lock(charter, load_lock(charter_dir / LOCK_FILE_NAME)) == []


# ---------------------------------------------------------------------------------------------------
# Drift: a text edited without a version bump is caught, and the lock refuses it


def test_editing_a_clause_without_a_version_bump_is_named(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = charter_dir / LOCK_FILE_NAME
    before = lock_path.read_bytes()
    clause = charter_dir / "clauses" / "C7.toml"
    edit(clause, text__fr=read(clause)["text"]["fr"] + " Sauf exception.")

    problems = check_lock(load_charter(charter_dir), load_lock(lock_path))
    assert any(
        p.startswith("clause C7: French reference text changed but version is still 1")
        and "raise `version` in clauses/C7.toml" in p
        for p in problems
    ), problems
    assert not any("clause C6" in p or "clause C8" in p for p in problems)

    status, _, err = run_command(capsys, "check", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "clause C7" in err

    status, out, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "refusing to rewrite charter.lock.json" in err
    assert "clause C7: French reference text changed" in err
    assert f"charter.toml: clause C7 changed but the charter version is still {CHARTER}" in err
    assert out == ""
    assert lock_path.read_bytes() == before, "a refused lock must leave the file untouched"


def test_editing_only_the_english_text_is_caught_too(charter_dir: Path) -> None:
    clause = charter_dir / "clauses" / "C9.toml"
    edit(clause, text__en=read(clause)["text"]["en"].replace("highest", "a high"))
    problems = check_lock(load_charter(charter_dir), load_lock(charter_dir / LOCK_FILE_NAME))
    assert any(p.startswith("clause C9: English text changed") for p in problems), problems


def test_editing_a_purpose_without_a_version_bump_is_named(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    purpose = charter_dir / "purposes" / "privacy-notice.toml"
    edit(purpose, text__fr=read(purpose)["text"]["fr"].replace("12 mois", "24 mois"))
    status, _, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "purpose privacy-notice: French reference text changed but version is still 2" in err
    assert "raise `version` in purposes/privacy-notice.toml" in err


def test_raising_the_versions_lets_lock_record_the_new_text(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = charter_dir / LOCK_FILE_NAME
    clause = charter_dir / "clauses" / "C7.toml"
    new_text = read(clause)["text"]["fr"] + " Sauf exception."
    edit(clause, version=2, text__fr=new_text)
    head = charter_dir / "charter.toml"
    head.write_text(
        head.read_text("utf-8").replace(f"version = {CHARTER}", f"version = {CHARTER + 1}", 1),
        "utf-8",
    )

    problems = check_lock(load_charter(charter_dir), load_lock(lock_path))
    assert problems == [
        "clause C7: version 2 is not locked yet (lock has 1); "
        "run `python -m app.charter.lock lock`",
        f"charter.toml: version {CHARTER + 1} is not locked yet (lock has {CHARTER}); "
        "run `python -m app.charter.lock lock`",
    ]

    status, out, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 0, err
    assert "recorded: clause C7: version 2 is not locked yet" in out
    locked = load_lock(lock_path)
    assert locked.charter_version == CHARTER + 1
    c7 = next(e for e in locked.clauses if e.id == "C7")
    assert (c7.version, c7.text_sha256) == (2, text_sha256(new_text))

    assert run_command(capsys, "check", "--charter-dir", str(charter_dir))[0] == 0
    status, out, _ = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert (status, "up to date" in out) == (0, True)


def test_raising_an_item_version_alone_is_refused(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The public ``version`` of the charter must name one set of texts."""
    edit(charter_dir / "purposes" / "reminders-sms.toml", version=3)
    status, _, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "raise `version` in charter.toml" in err
    assert (
        f"charter.toml: purpose reminders-sms changed but the charter version is still {CHARTER}"
        in err
    )


def test_lowering_a_version_is_refused(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = charter_dir / LOCK_FILE_NAME
    document = json.loads(lock_path.read_text("utf-8"))
    document["purposes"][0]["version"] = 3
    document["charter_version"] = 1
    lock_path.write_text(json.dumps(document), "utf-8")
    status, _, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "purpose privacy-notice: version went down from 3 to 2" in err


def test_removing_a_locked_clause_is_refused(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (charter_dir / "clauses" / "C14.toml").unlink()
    status, _, err = run_command(capsys, "lock", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "clause C14: locked at version 1 but no longer in the charter" in err


def test_lock_creates_a_missing_lock_file(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = charter_dir / LOCK_FILE_NAME
    shipped = lock_path.read_text("utf-8")
    lock_path.unlink()
    status, _, err = run_command(capsys, "check", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "charter/charter.lock.json: missing" in err
    assert run_command(capsys, "lock", "--charter-dir", str(charter_dir))[0] == 0
    assert lock_path.read_text("utf-8") == shipped, "the lock is a pure function of the data"


# ---------------------------------------------------------------------------------------------------
# Invalid files give a CharterError naming the file and the field


def _set(relative: str, **changes: Any) -> Any:
    def mutate(root: Path) -> None:
        edit(root / relative, **changes)

    return mutate


def _drop(relative: str, key: str) -> Any:
    def mutate(root: Path) -> None:
        data = read(root / relative)
        table, _, sub = key.partition(".")
        if sub:
            del data[table][sub]
        else:
            del data[key]
        write(root / relative, data)

    return mutate


def _duplicate(root: Path) -> None:
    shutil.copy(root / "clauses" / "C3.toml", root / "clauses" / "C3-bis.toml")


def _unknown_purpose(root: Path) -> None:
    data = read(root / "purposes" / "reminders-email.toml")
    data["id"] = "newsletter"
    write(root / "purposes" / "newsletter.toml", data)


def _missing_purpose(root: Path) -> None:
    (root / "purposes" / "reminders-sms.toml").unlink()


def _broken_toml(root: Path) -> None:
    (root / "clauses" / "C2.toml").write_text('id = "C2"\nversion = \n', "utf-8")


def _stray_file(root: Path) -> None:
    (root / "clauses" / "notes.txt").write_text("todo", "utf-8")


def _charter_unknown_key(root: Path) -> None:
    head = root / "charter.toml"
    head.write_text("signatories = 10\n" + head.read_text("utf-8"), "utf-8")


def _bad_lock_hash(root: Path) -> None:
    lock_path = root / LOCK_FILE_NAME
    document = json.loads(lock_path.read_text("utf-8"))
    document["clauses"][2]["text_sha256"] = "not-a-hash"
    lock_path.write_text(json.dumps(document), "utf-8")


INVALID = [
    (
        "unknown-key",
        _set("clauses/C3.toml", colour="blue"),
        "clauses/C3.toml",
        "colour",
        "unknown key",
    ),
    ("missing-en", _drop("clauses/C3.toml", "text.en"), "clauses/C3.toml", "text.en", "missing"),
    (
        "unknown-lang",
        _set("clauses/C3.toml", text__de="Text"),
        "clauses/C3.toml",
        "text.de",
        "unknown key",
    ),
    (
        "empty-fr",
        _set("clauses/C3.toml", text__fr="  \n "),
        "clauses/C3.toml",
        "text.fr",
        "must not be empty",
    ),
    (
        "multiline-title",
        _set("clauses/C3.toml", title__fr="a\nb"),
        "clauses/C3.toml",
        "title.fr",
        "single line",
    ),
    (
        "string-version",
        _set("clauses/C3.toml", version="2"),
        "clauses/C3.toml",
        "version",
        "integer",
    ),
    (
        "bool-version",
        _set("clauses/C3.toml", version=True),
        "clauses/C3.toml",
        "version",
        "integer",
    ),
    (
        "zero-version",
        _set("clauses/C3.toml", version=0),
        "clauses/C3.toml",
        "version",
        "at least 1",
    ),
    ("bad-clause-id", _set("clauses/C3.toml", id="X3"), "clauses/C3.toml", "id", "expected C1, C2"),
    (
        "id-not-file-name",
        _set("clauses/C3.toml", id="C33"),
        "clauses/C3.toml",
        "id",
        "named C3.toml",
    ),
    ("duplicate-id", _duplicate, "clauses/C3.toml", "id", "duplicate clause id 'C3'"),
    (
        "zero-width-space",
        _set("clauses/C3.toml", text__fr="lien\u200bofficiel"),
        "clauses/C3.toml",
        "text.fr",
        "U+200B",
    ),
    (
        "unknown-source",
        _set("clauses/C3.toml", sources=["wikipedia"]),
        "clauses/C3.toml",
        "sources",
        "unknown source",
    ),
    ("broken-toml", _broken_toml, "clauses/C2.toml", None, "not valid TOML"),
    ("stray-file", _stray_file, "clauses/notes.txt", None, "unexpected entry"),
    (
        "unknown-clause",
        _set("purposes/deontology.toml", clause_ids=["C1", "C99"]),
        "purposes/deontology.toml",
        "clause_ids",
        "unknown clause 'C99'",
    ),
    (
        "bad-audience",
        _set("purposes/deontology.toml", audience="doctor"),
        "purposes/deontology.toml",
        "audience",
        "'practitioner'",
    ),
    (
        "bad-required-for",
        _set("purposes/deontology.toml", required_for="payment"),
        "purposes/deontology.toml",
        "required_for",
        "'none'",
    ),
    (
        "missing-required-for",
        _drop("purposes/reminders-sms.toml", "required_for"),
        "purposes/reminders-sms.toml",
        "required_for",
        "missing",
    ),
    (
        "missing-title-en",
        _drop("purposes/reminders-sms.toml", "title.en"),
        "purposes/reminders-sms.toml",
        "title.en",
        "missing",
    ),
    (
        "default-on",
        _set("purposes/reminders-sms.toml", default=True),
        "purposes/reminders-sms.toml",
        "default",
        "must be false",
    ),
    (
        "consent-gates-booking",
        _set("purposes/reminders-email.toml", required_for="booking"),
        "purposes/reminders-email.toml",
        "required_for",
        "booking must not be gated on a consent",
    ),
    (
        "practitioner-gates-booking",
        _set("purposes/deontology.toml", required_for="booking"),
        "purposes/deontology.toml",
        "required_for",
        "only a patient purpose",
    ),
    (
        "patient-gates-listing",
        _set("purposes/privacy-notice.toml", required_for="listing"),
        "purposes/privacy-notice.toml",
        "required_for",
        "only a practitioner purpose",
    ),
    (
        "consent-gates-listing",
        _set("purposes/profile-publication.toml", kind="consent"),
        "purposes/profile-publication.toml",
        "required_for",
        "Art. 7(4)",
    ),
    ("unknown-purpose", _unknown_purpose, "purposes/newsletter.toml", "id", "'privacy-notice'"),
    ("missing-purpose", _missing_purpose, "purposes/reminders-sms.toml", None, "missing"),
    ("charter-unknown-key", _charter_unknown_key, "charter.toml", "signatories", "unknown key"),
]


@pytest.mark.parametrize(
    ("mutate", "file", "field", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID],
)
def test_invalid_data_gives_a_charter_error_naming_file_and_field(
    charter_dir: Path, mutate: Any, file: str, field: str | None, message: str
) -> None:
    mutate(charter_dir)
    with pytest.raises(CharterError) as caught:
        load_charter(charter_dir)
    error = caught.value
    assert (error.file, error.field) == (f"charter/{file}", field)
    assert message in error.problem
    assert str(error).startswith(f"charter/{file}")


def test_a_malformed_lock_gives_a_charter_error(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bad_lock_hash(charter_dir)
    with pytest.raises(CharterError) as caught:
        load_lock(charter_dir / LOCK_FILE_NAME)
    assert (caught.value.file, caught.value.field) == (
        "charter/charter.lock.json",
        "clauses[2].text_sha256",
    )
    status, _, err = run_command(capsys, "check", "--charter-dir", str(charter_dir))
    assert status == 1
    assert "charter.lock.json: clauses[2].text_sha256" in err


# ---------------------------------------------------------------------------------------------------
# GET /api/v1/charter (shared/API.md, "Charter and consent")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_public_has_exactly_the_api_shape(charter: Charter, lang: Any) -> None:
    document = charter.public(lang)
    json.dumps(document)  # serialisable as is
    assert set(document) == {"version", "clauses", "purposes"}
    assert document["version"] == charter.version
    for item in document["clauses"]:
        assert set(item) == {"id", "version", "title", "summary", "text_sha256"}
        clause = charter.clause(item["id"])
        assert item["title"] == clause.title.get(lang)
        assert item["summary"] == clause.summary.get(lang)
        assert isinstance(item["version"], int)
    assert [item["id"] for item in document["clauses"]] == [f"C{n}" for n in range(1, 15)]
    for item in document["purposes"]:
        # API.md's fields, plus the title and kind the consent screens show
        assert set(item) == {
            "id",
            "version",
            "title",
            "kind",
            "audience",
            "clause_ids",
            "required_for",
            "text",
            "text_sha256",
        }
        assert item["title"] == charter.purpose(item["id"]).title.get(lang)
        assert item["audience"] in {"patient", "practitioner"}
        assert item["required_for"] in {"booking", "listing", None}
        assert isinstance(item["clause_ids"], list)
        assert item["text"] == charter.purpose(item["id"]).text.get(lang)
        # A client can check the text it shows against the hash next to it.
        assert item["text_sha256"] == hashlib.sha256(item["text"].encode("utf-8")).hexdigest()


def test_public_hashes_are_the_locked_ones(charter: Charter) -> None:
    lock = load_lock(DEFAULT_CHARTER_DIR / LOCK_FILE_NAME)
    fr, en = charter.public("fr"), charter.public("en")
    for key, entries in (("clauses", lock.clauses), ("purposes", lock.purposes)):
        assert [i["text_sha256"] for i in fr[key]] == [e.text_sha256 for e in entries]
        assert [i["text_sha256"] for i in en[key]] == [e.text_en_sha256 for e in entries]


def test_public_defaults_to_french_and_refuses_other_languages(charter: Charter) -> None:
    assert charter.public() == charter.public("fr")
    assert charter.public("fr")["purposes"][0]["text"].startswith("Cette notice")
    assert charter.public("en")["purposes"][0]["text"].startswith("This notice")
    with pytest.raises(ValueError, match="de"):
        charter.public("de")  # type: ignore[arg-type]
