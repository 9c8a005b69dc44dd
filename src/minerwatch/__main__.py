"""``python -m minerwatch``: the same as the ``minerwatch`` command."""

from .cli import main

main()
