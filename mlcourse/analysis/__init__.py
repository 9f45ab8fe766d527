"""The analysis layer: from a DataFrame of events to numbers and figures.

Heavy work runs in Spark; only small aggregates come back (bin counts, ROC points).
``features`` builds the MLlib vectors, ``aggregate`` the histograms and correlations,
``metrics`` and ``paired`` the ROC, AUC and their errors, ``evaluation`` and ``yields``
the physicist's working point and significance; ``drawing`` is matplotlib only, and
``plots`` / ``evaluation_plots`` aggregate, then draw.
"""
