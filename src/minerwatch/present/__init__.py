"""Presentation only: the one number formatter (:mod:`.format`), terminal tables
(:mod:`.terminal`), the written brief (:mod:`.brief`), chart specifications
(:mod:`.charts`) and their drawing as one self-contained HTML file (:mod:`.html`) and PNG
images (:mod:`.png`). No arithmetic that the library does not expose.

Importing this package loads neither plotly nor matplotlib; :mod:`.html` and :mod:`.png`
import them when they draw.
"""
