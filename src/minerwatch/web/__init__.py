"""The web dashboard and JSON API (``minerwatch serve``): the top layer beside the CLI.

:mod:`.app` builds the FastAPI application (the security headers, the token check, the
errors as JSON), :mod:`.api` the JSON routes, :mod:`.prometheus` the ``/metrics`` text,
:mod:`.pages` the server-rendered pages and :mod:`.serve` runs it under uvicorn. Every
figure comes from the same library call the CLI makes; every page number is formatted by
:mod:`minerwatch.present.format`. Needs the ``web`` extra (FastAPI, uvicorn, Jinja2).
"""
