"""ipywidgets explorers for the notebooks.

Each explorer is a thin shell over a plain function in this package (which tests call directly):
the widget only collects slider values and shows what the plain function returns. Works with
ipywidgets 7.6+ (Colab) and 8.
"""

from __future__ import annotations
