"""Sphinx configuration of mlcourse's documentation (``python -m sphinx -W docs DEST``)."""

from __future__ import annotations

import os

import mlcourse

project = "mlcourse"
author = "mlcourse developers"
copyright = "mlcourse developers; HIGGS data: Baldi, Sadowski, Whiteson (CC BY 4.0)"
release = mlcourse.__version__
version = release

extensions = [
    "myst_parser",  # the pages are Markdown (MyST)
    "sphinx.ext.autodoc",  # the API reference from the docstrings
    "numpydoc",  # which are numpydoc
    "sphinxarg.ext",  # the CLI reference from mlcourse.cli.build_parser
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Documenting a name must not start Spark, Keras or a download: autodoc only imports.
os.environ.setdefault("KERAS_BACKEND", "jax")
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
autodoc_member_order = "bysource"
autodoc_default_options = {"undoc-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "furo"
html_title = f"mlcourse {release}"
