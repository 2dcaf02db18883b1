"""``python -m modelyard`` runs the CLI."""

from modelyard.cli.app import main

main()
