"""A Spark Connect client for the connect tests: ``python -m tests.connect_job JOB [ARGS]``.

It joins the server that ``SPARK_REMOTE`` names (the ``connect`` profile, chosen by that
variable alone, as on a hub), runs mlcourse's steps there and prints ``RESULT <json>`` for
the test to compare with numpy and with classic mode in the test session. A separate
process: once a Python process has joined a Connect server, pyspark builds every
DataFrame expression for Spark Connect, so a classic session cannot share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np

import mlcourse
from mlcourse.higgs import FEATURES

#: Fixed ranges, so that the histograms here and numpy's share their bins exactly.
RANGES = dict.fromkeys(FEATURES, (-3.0, 5.0))
#: Day 2's classifier, the same here and in the test session's classic comparison.
GBT = {"maxIter": 5, "maxDepth": 3, "seed": 1}
SYNTH = {"events": 30_000, "seed": 9}
#: A server setting the test server is started with (``connect-server start --conf``).
SESSION_TIMEOUT = "spark.connect.session.manager.defaultSessionTimeout"


def digest(frame: Any) -> str:
    """A fingerprint of a pandas frame's values, bit for bit."""
    return hashlib.sha256(np.ascontiguousarray(frame.to_numpy(np.float64)).tobytes()).hexdigest()


def rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS")) / 1024


def java_children() -> list[int]:
    """The pids of this process's children that run Java (a classic kernel has its driver)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()  # "pid (name) state ppid ...": the name may hold spaces
            head, rest = text.rsplit(")", 1)
            name, fields = head.split("(", 1)[1], rest.split()
        except (OSError, ValueError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and name == "java":
            found.append(int(stat.parent.name))
    return found


def refusal(call: Any) -> str:
    try:
        call()
    except mlcourse.MlcourseError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def analysis(spark: Any, csv: str, bad_csv: str, out: str) -> dict[str, Any]:
    """The course's steps over Spark Connect, on the events of ``csv``."""
    from pyspark.ml.classification import GBTClassifier
    from pyspark.sql import functions as F

    from mlcourse.course.checks import evaluate
    from mlcourse.runtime.progress import show_progress

    progress = show_progress(spark)
    assert progress is not None
    dest = f"{out}/events.parquet"
    converted = mlcourse.csv_to_parquet(spark, csv, dest)
    bad = refusal(lambda: mlcourse.csv_to_parquet(spark, bad_csv, f"{out}/bad.parquet"))
    again = refusal(lambda: mlcourse.csv_to_parquet(spark, csv, dest))
    df = spark.read.parquet(dest)
    hist = mlcourse.signal_background_hist(df, "m_bb", bins=40, range=(0.0, 3.0))
    grid = mlcourse.feature_histograms(df, "all", bins=20, ranges=RANGES)
    scored = df.withColumn("score", -F.col("m_wwbb"))
    roc = mlcourse.roc_curve(scored, score_col="score")
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    model = GBTClassifier(**GBT).fit(mlcourse.assemble_features(train))
    report = mlcourse.classification_report(model.transform(mlcourse.assemble_features(test)))
    synth = mlcourse.synthesize_higgs(spark, SYNTH["events"], seed=SYNTH["seed"])
    loaded = mlcourse.load_higgs(spark, "5k", source="synthetic", seed=4, data_dir=out)
    return {
        "session": type(spark).__module__,
        "session_timeout": spark.conf.get(SESSION_TIMEOUT, None),
        "convert_rows": converted.rows,
        "converted_sum": df.groupBy().sum().first().asDict(),
        "bad": bad,
        "bad_left": sorted(p.name for p in Path(out).iterdir() if "bad" in p.name),
        "again": again,
        "hist": [hist.signal.tolist(), hist.background.tolist()],
        "grid": {k: [h.signal.tolist(), h.background.tolist()] for k, h in grid.items()},
        "roc_auc": roc.auc,
        "gbt": report.to_dict(),
        "synth_digest": digest(synth.toPandas()),
        "load_rows": loaded.count(),
        "load_source": mlcourse.source_of(loaded),
        "info_rows": mlcourse.data_info(spark, dest).rows,
        "xgboost": refusal(lambda: mlcourse.xgb_classifier(spark, num_workers=2)),
        "day1b_check": evaluate("day1b.ex2", 3, df=df).message,
        "progress": [(q.name, *q.totals(), q.done) for q in progress.queries.values()],
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_mb": rss_mb(),
        "java_children": java_children(),
    }


def main(argv: list[str]) -> int:
    job, *args = argv
    if job == "token":  # the first call with whatever token this process was given
        result = {"error": refusal(mlcourse.get_spark)}
    elif job == "analysis":
        spark = mlcourse.get_spark()
        result = analysis(spark, *args)
        mlcourse.stop_spark()
        # a classic driver after Spark Connect, in the same process
        result["classic"] = refusal(lambda: mlcourse.get_spark("local"))
        del os.environ["SPARK_REMOTE"]
        result["classic_unset"] = refusal(lambda: mlcourse.get_spark("local"))
    else:
        raise SystemExit(f"unknown job {job!r}")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
