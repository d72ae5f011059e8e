"""pytest configuration shared by the package tests and nbval's notebook runs."""


def pytest_collectstart(collector):
    # Notebook outputs that differ between runs for reasons that are not the course's numbers:
    # warnings carry kernel temp paths, HTML/JS come from widgets and progress bars.
    if getattr(collector, "fspath", None) is not None and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "application/javascript", "image/svg+xml")
