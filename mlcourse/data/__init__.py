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

from mlcourse.data.loading import (
    DataInfo,
    check_room,
    data_info,
    higgs_csv,
    load_higgs,
    resolve_data_dir,
    source_of,
)

__all__ = [
    "DataInfo",
    "check_room",
    "data_info",
    "higgs_csv",
    "load_higgs",
    "resolve_data_dir",
    "source_of",
]
