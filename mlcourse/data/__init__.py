"""The data layer: the HIGGS events from wherever they come (downloaded, generated, or the
course's own copy) to a Spark DataFrame.

===================  ==============================================================
``sizes``            data set sizes and names ("100k" -> 100000, file names)
``storage``          local paths and Hadoop URIs, destination safety, file systems
``fetch``            downloading the real file, resumable and checked
``convert``          CSV -> Parquet in Spark, each bad row named by file, line, column
``synthetic``        the event generator (decay chains, detector, calibration)
``loading``          ``load_higgs``, ``higgs_csv``, ``data_info``: prepared data sets
===================  ==============================================================

The names of :mod:`mlcourse.data.loading` are re-exported here (``from mlcourse.data
import load_higgs`` keeps working).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DataInfo",
    "check_room",
    "data_info",
    "higgs_csv",
    "load_higgs",
    "resolve_data_dir",
    "source_of",
]


def __getattr__(name: str) -> Any:
    """Load :mod:`mlcourse.data.loading` on first use of one of its names (PEP 562), so
    that ``mlcourse.data.storage`` or ``mlcourse.data.sizes`` alone load neither numpy nor
    the generator."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("mlcourse.data.loading"), name)


if TYPE_CHECKING:
    from mlcourse.data.loading import (
        DataInfo as DataInfo,
        check_room as check_room,
        data_info as data_info,
        higgs_csv as higgs_csv,
        load_higgs as load_higgs,
        resolve_data_dir as resolve_data_dir,
        source_of as source_of,
    )
