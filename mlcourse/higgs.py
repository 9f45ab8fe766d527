"""The HIGGS data set: column names, feature groups, aliases and the Spark schema.

HIGGS (Baldi, Sadowski, Whiteson, Nature Communications 5, 4308 (2014), arXiv:1402.4735;
UCI Machine Learning Repository, CC BY 4.0) holds 11 million simulated collision events.
Each row is a label (1 = signal: a heavy Higgs boson decaying through W bosons and a light
Higgs to b quarks; 0 = background: top-quark pairs) and 28 features: 21 low-level
kinematic quantities measured by the detector and 7 high-level invariant masses that
physicists derived from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS",
    "HIGH_LEVEL",
    "LABEL",
    "LOW_LEVEL",
    "SCHEMA",
    "canonical_name",
    "closest_names",
    "rename_columns",
]

#: Name of the label column: 1.0 = signal, 0.0 = background.
LABEL = "label"

#: The 21 low-level features, in file order.
LOW_LEVEL: tuple[str, ...] = (
    "lepton_pT",
    "lepton_eta",
    "lepton_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    "jet1_pt",
    "jet1_eta",
    "jet1_phi",
    "jet1_b-tag",
    "jet2_pt",
    "jet2_eta",
    "jet2_phi",
    "jet2_b-tag",
    "jet3_pt",
    "jet3_eta",
    "jet3_phi",
    "jet3_b-tag",
    "jet4_pt",
    "jet4_eta",
    "jet4_phi",
    "jet4_b-tag",
)

#: The 7 high-level features (invariant masses), in file order.
HIGH_LEVEL: tuple[str, ...] = ("m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb")

#: All 28 features, in file order (the label comes first in the files).
FEATURES: tuple[str, ...] = LOW_LEVEL + HIGH_LEVEL

#: Every column of a HIGGS file, in order.
COLUMNS: tuple[str, ...] = (LABEL, *FEATURES)

#: Features that take a few discrete values (b-tagging scores).
DISCRETE: tuple[str, ...] = tuple(f for f in FEATURES if f.endswith("b-tag"))

# Historical or alternative spellings, mapped to the canonical names.
_EXTRA_ALIASES = {
    "je4_eta": "jet4_eta",  # the course files' long-standing typo
    "class": LABEL,
    "target": LABEL,
}


def _key(name: str) -> str:
    """Spelling-insensitive key: lowercase, spaces/dashes/underscores removed."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


# The UCI page writes names with spaces ("lepton pT", "missing energy magnitude",
# "jet 1 b-tag"); the keys make those, the canonical names and case variants meet.
_BY_KEY = {_key(name): name for name in COLUMNS}
_BY_KEY.update({_key(alias): name for alias, name in _EXTRA_ALIASES.items()})


def canonical_name(name: str) -> str | None:
    """Map a column name to its canonical HIGGS spelling.

    Accepts the canonical names, the course's historical ``je4_eta`` and the UCI page's
    spaced names (``"lepton pT"``, ``"jet 4 eta"``), in any case.

    Parameters
    ----------
    name : str
        A column name as found in a file header or typed by a user.

    Returns
    -------
    str or None
        The canonical name, or None when ``name`` is not a HIGGS column.

    Examples
    --------
    >>> canonical_name("je4_eta"), canonical_name("lepton pT"), canonical_name("M_BB")
    ('jet4_eta', 'lepton_pT', 'm_bb')
    """
    return _BY_KEY.get(_key(name))


def __getattr__(name: str) -> Any:
    """``SCHEMA``, built on first use: the names above need no pyspark (the driver-side
    numpy code of Days 3 and 4, and ``import mlcourse``, load this module without it)."""
    if name == "SCHEMA":
        from pyspark.sql.types import DoubleType, StructField, StructType

        schema = StructType([StructField(c, DoubleType(), nullable=False) for c in COLUMNS])
        globals()["SCHEMA"] = schema
        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    #: Spark schema of a HIGGS file: the label then the 28 features, all doubles.
    SCHEMA: StructType


def rename_columns(df: DataFrame) -> DataFrame:
    """Rename a DataFrame's HIGGS columns to their canonical names (``je4_eta`` → ``jet4_eta``).

    Columns that are not HIGGS columns are kept as they are.
    """
    renames = {
        old: new for old in df.columns if (new := canonical_name(old)) is not None and new != old
    }
    return df.withColumnsRenamed(renames) if renames else df


#: The named feature groups accepted wherever features are chosen.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {"all": FEATURES, "low": LOW_LEVEL, "high": HIGH_LEVEL}


def closest_names(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The ``choices`` closest to ``name``, ignoring case (for "did you mean" messages)."""
    import difflib

    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)
    return [by_lower[f] for f in found]
