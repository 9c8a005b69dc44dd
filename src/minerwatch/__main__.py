"""``python -m minerwatch``: the same as the ``minerwatch`` command."""

from minerwatch.cli import main

main()
