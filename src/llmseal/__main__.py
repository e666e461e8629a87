"""``python -m llmseal`` runs the CLI."""

from llmseal.cli import main

main()
