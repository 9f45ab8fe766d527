"""Classic driver against Spark Connect client on one machine: time and kernel memory.

The same workload (Day 1 and Day 2 in short: generate events in Spark, histograms of all 28
features, a GBT of 20 trees, its ROC curve) runs in two fresh Python processes, as two
kernels would: one with a classic ``local[2]`` driver JVM, one as a client of a Spark
Connect server started here with ``local[2]``. Printed: each one's wall time and their
ratio, and the kernel's memory: the classic kernel's Python plus its driver JVM (the
kernel's pod on a hub holds both), against the Connect client's Python alone (the
server's memory is the server's, shared by a class).

    python benchmarks/connect.py --events 100k
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from _common import events_and_workdir, parser

WORKLOAD = r"""
import json, os, resource, sys, time
import mlcourse
from pyspark.ml.classification import GBTClassifier

n = int(sys.argv[1])
start = time.perf_counter()
spark = mlcourse.get_spark(**({} if os.environ.get("SPARK_REMOTE") else {"workers": 2}))
df = mlcourse.synthesize_higgs(spark, n, seed=0).cache()
df.count()
mlcourse.feature_histograms(df, "all", bins=50)
train, test = mlcourse.train_test_split(df, 0.3, seed=1)
model = GBTClassifier(maxIter=20, maxDepth=5, seed=1).fit(mlcourse.assemble_features(train))
auc = mlcourse.roc_curve(model.transform(mlcourse.assemble_features(test))).auc
seconds = time.perf_counter() - start


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) / 1024


jvm = 0.0
if not os.environ.get("SPARK_REMOTE"):  # the driver JVM: this kernel's child
    jvm = rss_mb(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
print("RESULT " + json.dumps({
    "seconds": seconds, "auc": auc, "python_mb": rss_mb(os.getpid()), "jvm_mb": jvm,
    "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}), flush=True)
mlcourse.stop_spark()
"""


def run(n: int, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(n)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    from mlcourse.runtime import connect

    args = parser(__doc__.splitlines()[0], events="100k").parse_args()
    n, work = events_and_workdir(args)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "MLCOURSE_"))}
    os.environ["MLCOURSE_CACHE_DIR"] = tempfile.mkdtemp(dir=work, prefix="connect-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    classic = run(n, {**base, "MLCOURSE_PROFILE": "local"})
    t0 = time.perf_counter()
    server = connect.start_server(port=port, memory="1g", master="local[2]")
    try:
        started = time.perf_counter() - t0
        remote = run(n, {**base, "SPARK_REMOTE": server.address})
    finally:
        connect.stop_server()
    kernel_classic = classic["python_mb"] + classic["jvm_mb"]
    print(f"{n:,} events: synthesize, 28 histograms, GBT (20 trees), ROC; local[2] both ways")
    print(
        f"  classic driver : {classic['seconds']:6.1f} s  AUC {classic['auc']:.4f}  "
        "(its JVM start included)"
    )
    print(
        f"  Spark Connect  : {remote['seconds']:6.1f} s  AUC {remote['auc']:.4f}  "
        f"(server start {started:.1f} s, once per class)"
    )
    print(f"  time ratio Connect / classic: {remote['seconds'] / classic['seconds']:.2f}x")
    print(
        f"  kernel memory  : classic {kernel_classic:.0f} MB (Python {classic['python_mb']:.0f}"
        f" + driver JVM {classic['jvm_mb']:.0f}), Connect client {remote['python_mb']:.0f} MB"
        f" (peak {remote['python_peak_mb']:.0f}): {kernel_classic / remote['python_mb']:.1f}x"
        " less"
    )


if __name__ == "__main__":
    main()
