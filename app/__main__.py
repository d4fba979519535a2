"""``python -m app`` runs the ``erdv`` command."""

from app.cli import main

main()
