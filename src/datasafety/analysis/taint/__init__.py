"""Static taint analysis: which personal data flows from a source to a sink, and through which methods.

Pipeline position: after the call graph and reachability
(:mod:`datasafety.analysis.reachability`). The analysis decodes only the
methods it visits (:mod:`ir`), interprets them over abstract values with
objects, taint labels and string constants (:mod:`values`,
:mod:`interpreter`), follows calls in value contexts (:mod:`engine`), models
the framework from knowledge files (:mod:`library`, :mod:`effects`), runs
components through their lifecycles (:mod:`lifecycle`) and follows intents
between them (:mod:`icc`).

Entry point: :func:`find_flows`.
"""

from __future__ import annotations


def find_flows(*args, **kwargs):
    """See :func:`datasafety.analysis.taint.run.find_flows` (imported lazily: the decoder in this
    package is used by reachability, which the analysis itself imports)."""
    from datasafety.analysis.taint.run import find_flows as run

    return run(*args, **kwargs)
