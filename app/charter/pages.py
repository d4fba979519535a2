"""The public charter and transparency pages, rendered from the same data as the API.

Plain server-rendered HTML (escaped), styled by ``/static/style.css``, with no script at all: these
pages must read the same for a screen reader, a text browser and an auditor (charter C10, GDPR Art.
12: information in a concise, transparent, intelligible and easily accessible form).
"""

from __future__ import annotations

from html import escape

from app.charter.model import Charter, Lang
from app.core.settings import Settings

_LABELS = {
    "fr": {
        "charter": "La charte e-RDV",
        "transparency": "Transparence",
        "clauses": "Les engagements",
        "purposes": "Ce que nous vous demandons",
        "version": "version",
        "operator": "Exploitant",
        "contact": "Contact",
        "dpo": "Délégué à la protection des données",
        "hosting": "Hébergement des données de santé",
        "financing": "Financement",
        "price": "Prix pour les professionnels",
        "subprocessors": "Sous-traitants",
        "closing": "Fermeture d'un compte professionnel",
        "closing_text": "La fiche quitte l'annuaire à la fermeture et les rendez-vous à venir sont "
        "annulés, chaque patient prévenu. L'exploitant garde l'agenda {days} jours pour pouvoir "
        "encore en remettre l'export au professionnel qui le demande, puis supprime ce qu'il "
        "gardait pour son compte ; chaque patient garde l'historique de ses propres rendez-vous.",
        "no_ads": "Aucune publicité, aucun avis, aucun classement payant, aucune vente de données.",
        "other": "English",
        "home": "Accueil",
        "sha": "Empreinte SHA-256 du texte",
    },
    "en": {
        "charter": "The e-RDV charter",
        "transparency": "Transparency",
        "clauses": "Our commitments",
        "purposes": "What we ask of you",
        "version": "version",
        "operator": "Operator",
        "contact": "Contact",
        "dpo": "Data protection officer",
        "hosting": "Health data hosting",
        "financing": "Financing",
        "price": "Price for practitioners",
        "subprocessors": "Sub-processors",
        "closing": "Closing a practitioner account",
        "closing_text": "The profile leaves the directory at closing and upcoming appointments "
        "are cancelled, each patient told. The operator keeps the agenda {days} days so that it "
        "can still give its export to the practitioner who asks, then deletes what it kept on "
        "the practice's behalf; each patient keeps the history of their own appointments.",
        "no_ads": "No advertising, no reviews, no paid ranking, no sale of data.",
        "other": "Français",
        "home": "Home",
        "sha": "SHA-256 of the text",
    },
}


def _page(lang: Lang, title: str, path: str, body: str) -> str:
    labels = _LABELS[lang]
    other = "en" if lang == "fr" else "fr"
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} — erdv</title>\n"
        '<link rel="stylesheet" href="/static/style.css">\n<link rel="icon" href="data:,">\n'
        "</head>\n<body>\n"
        f'<header class="site"><p class="brand"><a href="/">erdv</a></p>'
        f'<nav aria-label="{escape(labels["other"])}"><a href="{path}?lang={other}" '
        f'hreflang="{other}" lang="{other}">{escape(labels["other"])}</a> · '
        f'<a href="/charter?lang={lang}">{escape(labels["charter"])}</a> · '
        f'<a href="/transparency?lang={lang}">{escape(labels["transparency"])}</a></nav></header>\n'
        f'<main id="main">\n<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n'
    )


def _paragraphs(text: str) -> str:
    return "\n".join(
        f"<p>{escape(part.strip())}</p>" for part in text.split("\n\n") if part.strip()
    )


def charter_page(charter: Charter, lang: Lang) -> str:
    labels = _LABELS[lang]
    clauses = "\n".join(
        f'<section id="{clause.id}" aria-labelledby="{clause.id}-title">'
        f'<h3 id="{clause.id}-title">{clause.id}. {escape(clause.title.get(lang))}</h3>'
        f"<p><strong>{escape(clause.summary.get(lang))}</strong></p>"
        f"{_paragraphs(clause.text.get(lang))}"
        f'<p class="meta">{labels["version"]} {clause.version} · {labels["sha"]} '
        f"<code>{clause.sha256(lang)}</code></p></section>"
        for clause in charter.clauses
    )
    purposes = "\n".join(
        f'<section id="{purpose.id.value}" aria-labelledby="{purpose.id.value}-title">'
        f'<h3 id="{purpose.id.value}-title">{escape(purpose.title.get(lang))}</h3>'
        f"{_paragraphs(purpose.text.get(lang))}"
        f'<p class="meta">{labels["version"]} {purpose.version} · {labels["sha"]} '
        f"<code>{purpose.sha256(lang)}</code></p></section>"
        for purpose in charter.purposes
    )
    body = (
        f"<p>{escape(charter.title.get(lang))} ({labels['version']} {charter.version}).</p>\n"
        f"<h2>{labels['clauses']}</h2>\n{clauses}\n<h2>{labels['purposes']}</h2>\n{purposes}"
    )
    return _page(lang, labels["charter"], "/charter", body)


def transparency_page(settings: Settings, lang: Lang) -> str:
    labels = _LABELS[lang]
    rows = [
        (labels["operator"], settings.operator_name),
        (labels["contact"], settings.operator_contact),
        (labels["dpo"], settings.dpo_contact),
        (labels["hosting"], settings.hosting_provider),
        (labels["financing"], settings.financing),
        (labels["price"], settings.price),
        (labels["closing"], labels["closing_text"].format(days=settings.practice_closing_days)),
    ]
    processors = "".join(f"<li>{escape(line)}</li>" for line in settings.subprocessors)
    body = (
        "<dl>"
        + "".join(f"<dt>{escape(term)}</dt><dd>{escape(value)}</dd>" for term, value in rows)
        + f"</dl>\n<h2>{escape(labels['subprocessors'])}</h2>\n<ul>{processors}</ul>"
        + f"\n<p>{escape(labels['no_ads'])}</p>"
    )
    return _page(lang, labels["transparency"], "/transparency", body)
