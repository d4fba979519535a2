"""Practitioners' practices: profile, professions, visit reasons, opening hours, absences, approval."""
