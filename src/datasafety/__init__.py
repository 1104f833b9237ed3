"""datasafety: an evidence-based privacy auditor for Android apps.

``datasafety.scan(path, trackers=None) -> Report`` runs the whole static
pipeline; ``Report.to_json()`` is the JSON contract.
"""

from datasafety.pipeline import __version__, scan

__all__ = ["scan", "__version__"]
