"""The course notebooks: one source each, student versions up to date, every one executed.

The sources are executed end to end by a real IPython kernel (nbclient) on 10k synthetic
events, and a result each computes is checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from mlcourse.cli import main
from mlcourse.course.grading import notebook_exercises
from mlcourse.course.notebooks import (
    PARAMETERS_TAG,
    SOLUTION_TAG,
    build_notebooks,
    read_notebook,
    student_version,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.ipynb"))
ALL = SOURCES + sorted((NOTEBOOKS / "student").glob("*.ipynb"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell["metadata"].get("tags", [])


def text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_the_course_has_its_sessions():
    assert [p.name for p in SOURCES] == [
        "day0_smart_workflows.ipynb",
        "day1_input_data.ipynb",
        "day1b_spark_internals.ipynb",
        "day2_gbt.ipynb",
        "day2_mlp.ipynb",
        "day3_neural_networks.ipynb",
        "day4_distributed_training.ipynb",
        "final_handson.ipynb",
    ]
    # no helper files beside them: everything comes from the installed package
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if p.suffix != ".ipynb") == [
        "README.md",
        "student",
    ]


def test_student_versions_are_up_to_date():
    stale = build_notebooks(NOTEBOOKS, check=True)
    assert stale == [], "run `mlcourse notebooks build` and commit notebooks/student"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebooks_carry_no_outputs(path):
    for cell in code_cells(read_notebook(path)):
        assert cell["outputs"] == [] and cell["execution_count"] is None, text(cell)[:60]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_each_source_is_self_contained_and_parametrised(path):
    nb = read_notebook(path)
    first = code_cells(nb)[0]
    assert PARAMETERS_TAG in first["metadata"].get("tags", [])
    if path.name.startswith("day0"):  # no data: a scratch folder for its git repository
        assert 'os.environ.get("MLCOURSE_SCRATCH")' in text(first)
    else:
        assert 'os.environ.get("MLCOURSE_EVENTS"' in text(first)
        assert 'os.environ.get("MLCOURSE_SOURCE"' in text(first)
    assert "%load_ext mlcourse" in text(code_cells(nb)[1])
    assert "What you will" in text(nb["cells"][0])
    assert any(SOLUTION_TAG in c["metadata"].get("tags", []) for c in nb["cells"])
    assert not any("import helper" in text(c) or "%run" in text(c) for c in code_cells(nb))


TASK = "# Exercise: count the events.\n# Store it in n.\n"


def test_student_version_keeps_the_task_and_drops_the_solution():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "# Exercise: count the events.\n# Store it in n.\nn = df.count()"
        ),
        nbformat.v4.new_markdown_cell("Why is Parquet faster?"),
        nbformat.v4.new_markdown_cell("Because it is columnar."),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    nb.cells[0].metadata["tags"] = [SOLUTION_TAG, "keep-me"]
    nb.cells[2].metadata["tags"] = [SOLUTION_TAG]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[3].execution_count = 4
    out = student_version(nb)
    exercise, question, answer, plain = out["cells"]
    assert (
        exercise["source"] == "# Exercise: count the events.\n# Store it in n.\n# Your code here.\n"
    )
    assert exercise["metadata"]["tags"] == ["keep-me", "exercise"]
    assert question["source"] == "Why is Parquet faster?"
    assert answer["source"] == "*Your answer here.*"
    assert (
        plain["source"] == "x = 1" and plain["outputs"] == [] and plain["execution_count"] is None
    )
    assert nb.cells[0].source.endswith("n = df.count()")  # the source is left alone


def test_a_solutions_cell_magic_stays_in_the_student_version():
    """The student's cell still starts with ``%%classic_only``: skipped over Spark Connect."""
    cell = nbformat.v4.new_code_cell(
        "%%classic_only xgboost.spark needs the driver\n# Exercise 1: train it.\nm = x.fit(t)"
    )
    cell.metadata["tags"] = [SOLUTION_TAG]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    (stub,) = student_version(nb)["cells"]
    assert stub["source"] == (
        "%%classic_only xgboost.spark needs the driver\n# Exercise 1: train it.\n"
        "# Your code here.\n"
    )


def test_students_write_the_network_and_answer_the_open_questions():
    """Day 3's student version leaves the network to the student: build_network appears in
    no cell of it (the reference answer is in the solution cells only); every answer to an
    open question is an empty answer cell there."""
    student = nbformat.read(NOTEBOOKS / "student" / "day3_neural_networks.ipynb", as_version=4)
    assert not [c.source for c in student.cells if "build_network" in c.source]
    source = nbformat.read(NOTEBOOKS / "day3_neural_networks.ipynb", as_version=4)
    assert any("build_network" in c.source for c in source.cells if is_solution(c))
    for path in SOURCES:
        nb = nbformat.read(path, as_version=4)
        answers = [c for c in nb.cells if c.cell_type == "markdown" and is_solution(c)]
        stubs = [
            c
            for c in student_version(nb)["cells"]
            if c["cell_type"] == "markdown" and c["source"] == "*Your answer here.*"
        ]
        assert len(stubs) == len(answers)
        assert all(c.source.startswith("*Answer:*") for c in answers), path.name


def test_build_writes_checks_and_removes_orphans(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(SOURCES[0], folder)
    assert main(["notebooks", "build", str(folder), "--check"]) == 1
    assert main(["notebooks", "build", str(folder)]) == 0
    written = folder / "student" / SOURCES[0].name
    assert f"wrote: {written}" in capsys.readouterr().out
    assert main(["notebooks", "build", str(folder), "--check"]) == 0
    solution = next(
        text(c)
        for c in read_notebook(SOURCES[0])["cells"]
        if SOLUTION_TAG in c["metadata"].get("tags", [])
    )
    assert solution.splitlines()[-1] not in written.read_text()
    (folder / "student" / "gone.ipynb").write_text("{}")
    assert main(["notebooks", "build", str(folder), "--check"]) == 1
    build_notebooks(folder)
    assert not (folder / "student" / "gone.ipynb").exists()


#: Synthetic events each notebook runs on in the notebook tier: enough for every check below,
#: few enough that Spark's fixed costs dominate (the tier's time on 2 cores).
EVENTS = 10_000
#: Events of a notebook run in a Binder box (the binder tier's size in CI).
BOX_EVENTS = 20_000

# What each notebook must have computed, checked after it ran on 10k synthetic events.
RESULTS = {
    "day0_smart_workflows.ipynb": [
        "untracked_before",
        "untracked_after",
        "staged_has_outputs",
        "commits",
        "check_clean",
        "check_stale",
        "check_fixed",
    ],
    "day1_input_data.ipynb": ["rows", "signal_fraction", "most_correlated", "mbb_agreement"],
    "day1b_spark_internals.ipynb": [
        "shuffles",
        "sort_stages",
        "partitions",
        "read_all",
        "read_query",
        "read_sorted",
        "read_sorted_all",
        "rows_per_partition",
    ],
    "day2_gbt.ipynb": ["auc", "auc_high", "cv_auc", "z_test", "auc_gap", "overtraining_differs"],
    "day2_mlp.ipynb": ["auc_mlp", "auc_gbt", "architecture_aucs", "means", "stds"],
    "day3_neural_networks.ipynb": [
        "epochs",
        "auc_nn",
        "auc_gbt",
        "score_difference",
        "rejection_nn",
        "best_z",
        "overtraining_p",
        "auc_by_seed",
        "auc_by_features",
        "auc_by_size",
        "seed_spread",
        "z_test",
    ],
    "day4_distributed_training.ipynb": [
        "slots",
        "auc_gbt",
        "auc_xgb",
        "seconds_gbt",
        "seconds_xgb",
        "best_iteration",
        "my_best_round",
        "auc_early",
        "times_by_workers",
        "times_by_executors",
    ],
    "final_handson.ipynb": [
        "signal_fraction",
        "part_sizes",
        "my_auc",
        "fit_table",
        "deepest_p",
        "tuned_auc",
        "timings",
        "z_test",
    ],
}


def check(name: str, r: dict, events: int = EVENTS) -> None:
    if name == "day0_smart_workflows.ipynb":
        assert sorted(r["untracked_before"]) == ["?? .ipynb_checkpoints/", "?? explore.ipynb"]
        assert sorted(r["untracked_after"]) == ["?? .gitignore", "?? explore.ipynb"]
        assert r["staged_has_outputs"] is False  # nbstripout kept them out of git
        assert r["commits"] == 4  # .gitignore, the notebook, two atomic commits
        assert (r["check_clean"], r["check_stale"], r["check_fixed"]) == (0, 1, 0)
    elif name == "day1_input_data.ipynb":
        assert r["rows"] == events
        assert 0.4 < r["signal_fraction"] < 0.6
        a, b = r["most_correlated"]
        assert a != b
        assert r["mbb_agreement"] >= 0.99  # the masses are the four-vectors' (real: 100%)
    elif name == "day1b_spark_internals.ipynb":
        # what Spark's planner does: filters and new columns stay where they are, a
        # broadcast join moves the small side only
        assert r["shuffles"] == {
            "filter": False,
            "new column": False,
            "groupBy": True,
            "orderBy": True,
            "join": True,
            "broadcast join": False,
        }
        assert r["sort_stages"] == 3  # the sample for the ranges' bounds, the map, the result
        assert r["partitions"] == {
            "repartition(8)": 8,
            "repartition(8).coalesce(3)": 3,
            "coalesce(3).repartition(8)": 8,
        }
        assert 0 < r["read_query"] < r["read_all"] / 5  # 3 columns of 29 read
        assert 0 < r["read_sorted"] < r["read_sorted_all"]  # sorted row groups: some skipped
        assert len(r["rows_per_partition"]) == 4 and 0 in r["rows_per_partition"]
        assert sum(r["rows_per_partition"]) == events
    elif name == "day2_gbt.ipynb":
        assert min(r["auc"], r["auc_high"], r["cv_auc"]) > 0.6
        assert r["z_test"] > 0  # a working point chosen on validation events, Z on test
        assert r["auc_gap"] > 0.05 and r["overtraining_differs"] is True  # depth 10, 2k events
    elif name == "day2_mlp.ipynb":
        assert r["auc_mlp"] > 0.6 and r["auc_gbt"] > 0.6
        aucs = r["architecture_aucs"]
        assert len(aucs) == 2 and min(aucs.values()) > 0.6
        assert set(r["means"]) == set(r["stds"]) and len(r["means"]) == 28
    elif name == "day3_neural_networks.ipynb":
        assert 1 <= r["epochs"] <= 30
        assert r["auc_nn"] > 0.6 and r["auc_gbt"] > 0.6
        assert r["score_difference"] < 1e-6  # Spark's scores are model.predict's
        assert r["rejection_nn"] > 2  # at 50% signal efficiency (a coin toss: 2)
        assert r["best_z"] > 0 and r["z_test"] > 0  # cut chosen on validation, Z on test
        assert 0 <= r["overtraining_p"] <= 1
        assert list(r["auc_by_seed"]) == ["1", "2", "3", "4", "5"]
        assert 0 < r["seed_spread"] < 0.05
        assert min(r["auc_by_seed"].values()) > 0.6
        assert list(r["auc_by_features"]) == ["low", "high", "all"]
        for by_depth in r["auc_by_features"].values():
            assert list(by_depth) == ["shallow", "deep"] and min(by_depth.values()) > 0.55
        sizes = list(r["auc_by_size"])
        assert sizes[:2] == ["2000", "5000"] and int(sizes[2]) > 5000
    elif name == "day4_distributed_training.ipynb":
        assert r["slots"] == 2  # local[2] on the CI machine's 2 cores
        assert r["auc_gbt"] > 0.7 and r["auc_xgb"] > 0.7
        assert r["seconds_gbt"] > 0 and r["seconds_xgb"] > 0
        assert 0 < r["best_iteration"] < 999 and r["auc_early"] > r["auc_xgb"] - 0.01
        assert r["my_best_round"] == r["best_iteration"]  # the student's rule is xgboost's
        assert list(r["times_by_workers"]) == ["1", "2"]
        executors = r["times_by_executors"]
        assert next(iter(executors)) == "1" and min(executors.values()) > 0
    else:
        assert 0.4 < r["signal_fraction"] < 0.6
        assert sum(r["part_sizes"]) == events and len(r["part_sizes"]) == 5
        assert r["my_auc"] > 0.6 and r["tuned_auc"] > 0.6
        depth, train_auc, test_auc = r["fit_table"][-1]
        assert depth == 9 and train_auc > test_auc  # the deepest trees over-fit
        assert r["deepest_p"] < 0.01  # and the overtraining check says so, as the answer does
        assert len(r["timings"]) == 4
        assert r["z_test"] > 0


# Appended to each notebook: print the results as JSON (tuple keys and numpy numbers made plain).
REPORT = """
import json
import numpy as np

def _plain(v):
    if isinstance(v, dict):
        return {{str(k): _plain(x) for k, x in v.items()}}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v.item() if hasattr(v, "item") else v

print("MLCOURSE-RESULT" + json.dumps({{n: _plain(globals()[n]) for n in {names!r}}}))
"""


#: Seconds one cell may run. The longest cell takes about 40 s on an idle 2-core machine at
#: 10k events, and about twice that with a second CPU-bound process beside it: 600 s tells
#: a hang from a loaded machine. The kernel gets 120 s to start (nbclient's default is 60).
CELL_TIMEOUT = 600
KERNEL_START_TIMEOUT = 120


def cell_seconds(nb) -> list[tuple[float, int, str]]:
    """(seconds, index, first line) of each executed code cell, from nbclient's timing."""
    from datetime import datetime

    rows = []
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.status.busy" in timing and "iopub.status.idle" in timing:
            busy, idle = (
                datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                for k in ("iopub.status.busy", "iopub.status.idle")
            )
            first = text(cell).splitlines()[0] if text(cell) else ""
            rows.append(((idle - busy).total_seconds(), index, first[:70]))
    return rows


def execute(nb, cwd: Path, name: str) -> None:
    """Run ``nb`` in a fresh python3 kernel. On any error or timeout the failure names the
    cell (nbclient's message shows its source), and the executed notebook, with each cell's
    seconds, goes to ``$MLCOURSE_ARTIFACTS/notebooks/`` when that is set (CI uploads it)."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=KERNEL_START_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute()  # raises CellExecutionError or CellTimeoutError naming the cell
    finally:
        timings = cell_seconds(nb)
        print(f"{name}: seconds per cell")  # shown by pytest when the test fails
        for seconds, index, first in sorted(timings, reverse=True):
            print(f"  {seconds:7.1f}  cell {index}: {first}")
        save_executed(nb, name)


def save_executed(nb, name: str) -> None:
    """The executed notebook to ``$MLCOURSE_ARTIFACTS/notebooks/`` when that is set."""
    artifacts = os.environ.get("MLCOURSE_ARTIFACTS")
    if artifacts:
        folder = Path(artifacts) / "notebooks"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook-data")


#: Days 3, 4 and the final hands-on run from tests/test_notebooks_late.py: another file, so
#: that the two pytest-xdist workers (--dist loadfile) can run both halves at once.
LATE = [p for p in SOURCES if p.name >= "day3"]
EARLY = [p for p in SOURCES if p not in LATE]


@pytest.mark.notebooks
@pytest.mark.parametrize("path", EARLY, ids=lambda p: p.name)
def test_notebook_runs_end_to_end(path, data_dir, monkeypatch, tmp_path):
    run_and_check(path, data_dir, monkeypatch, tmp_path)


CHECK_LINE = re.compile(r"^(day\d\w*|final)\.\w+: (passed|not yet): ")


def notebook_environment(monkeypatch, data_dir: Path, tmp_path: Path, events: int = EVENTS) -> None:
    """What a kernel of the tier inherits: 10k synthetic events, its data and scratch
    folders, matplotlib's inline backend."""
    monkeypatch.setenv("MLCOURSE_SCRATCH", str(tmp_path))
    monkeypatch.setenv("MLCOURSE_EVENTS", str(events))
    monkeypatch.setenv("MLCOURSE_SOURCE", "synthetic")
    monkeypatch.setenv("MLCOURSE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def run_for_results(
    path: Path, names: list[str], name: str, *, box: Path | None = None
) -> tuple[nbformat.NotebookNode, dict]:
    """Execute the notebook at ``path`` with REPORT appended; the executed notebook and the
    values of ``names`` it printed. With ``box`` (a scratch folder), in a Binder box
    (tests/test_binder_box.py's ``run_in_box``), which must not be killed or overflow."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT.format(names=names)))
    if box is None:
        execute(nb, NOTEBOOKS, name)
    else:
        from .test_binder_box import PEAK_BUDGET, run_in_box

        nbformat.write(nb, box / f"with-report-{name}")
        out = box / name
        measured = run_in_box(box / f"with-report-{name}", out, cwd=NOTEBOOKS)
        print(f"{name} in a Binder box: {measured}")
        if out.is_file():
            nb = nbformat.read(out, as_version=4)
            save_executed(nb, name)
        assert measured["oom_kills"] == 0, measured
        assert measured["status"] == 0, measured["stderr"]
        assert measured["peak_bytes"] < PEAK_BUDGET, measured
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return nb, json.loads(printed.split("MLCOURSE-RESULT", 1)[1])


def run_and_check(path: Path, data_dir: Path, monkeypatch, tmp_path: Path) -> None:
    """Run a course notebook on synthetic events; check its results and its outputs.

    Where a cgroup can be made (root, as in CI), the notebook runs as mybinder.org runs it:
    in a box of 1 CPU and 2 GiB, on the binder profile, at 20k events (the binder tier's
    budget, asserted too); elsewhere in a kernel of this machine at 10k.
    """
    from mlcourse.runtime.limits import limits_problem

    boxed = limits_problem() is None
    events = BOX_EVENTS if boxed else EVENTS
    notebook_environment(monkeypatch, data_dir, tmp_path, events)
    box = tmp_path if boxed else None
    nb, result = run_for_results(path, RESULTS[path.name], path.name, box=box)
    check(path.name, result, events)
    check_outputs(path, nb)


def check_outputs(path: Path, nb, exercises: list[str] | None = None) -> list[dict]:
    """What every executed notebook of the tiers must show: the check of each of its
    ``exercises`` (default: all the notebook has) passed, and no other check ran; nothing on
    stderr; the small synthetic data asked for. Returns the outputs of all its cells."""
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    # every exercise's check cell ran, and passed on the instructors' solutions
    printed = [ln for o in outputs if o.get("name") == "stdout" for ln in o["text"].splitlines()]
    checks = {ln.split(": ", 1)[0]: ln for ln in printed if CHECK_LINE.match(ln)}
    wanted = notebook_exercises(path) if exercises is None else exercises
    assert sorted(checks) == sorted(wanted), checks
    assert all(": passed: " in line for line in checks.values()), checks
    # no red box: nothing on stderr in any cell (Spark's start-up included)
    assert [o["text"] for o in outputs if o.get("name") == "stderr"] == []
    if not path.name.startswith("day0"):
        # the kernel ran on the small synthetic data asked for, not the 100k default
        assert "synthetic" in json.dumps(outputs)
    return outputs


# An old course notebook, in the old course's idiom, with only its import line changed
# (`from custom_functions import *` -> `from mlcourse.compat import *`).
OLD_STYLE = [
    "%reload_ext mlcourse",
    "num_workers = 2\nspark = %sc $num_workers",
    "from pyspark.sql import SparkSession\nsession = SparkSession(spark)\n"
    "spark.getConf().get('spark.master')",
    "hdfs_path = %hdfs_path\n"
    "df = session.read.format('parquet').load(hdfs_path + '/higgs-old.parquet')\n"
    "df.count()",
    "from mlcourse.compat import *\n"
    "feature = df.columns\nfeature.remove('label')\n"
    "assembler = VectorAssembler(inputCols=feature, outputCol='features')\n"
    "train, test = assembler.transform(df).randomSplit([0.8, 0.2], seed=1)",
    "from pyspark.ml.classification import GBTClassifier\n"
    "from pyspark.ml.evaluation import BinaryClassificationEvaluator\n"
    "from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit\n"
    "gbt = GBTClassifier(labelCol='label', featuresCol='features', maxIter=3)\n"
    "grid = ParamGridBuilder().addGrid(gbt.maxDepth, [2, 3]).build()\n"
    "evaluator = BinaryClassificationEvaluator(labelCol='label', metricName='areaUnderROC')\n"
    "tvs = TrainValidationSplit(estimator=gbt, estimatorParamMaps=grid, evaluator=evaluator,\n"
    "                           trainRatio=0.8, parallelism=2)\n"
    "model = tvs.fit(train)\nresult = model.transform(test)",
    "printMetrics(evaluator, result)",
    "drawROC(result)",
    "plotSignalvsBg(df, 'm_bb')",
    "plotSignalvsBgWithPrediction(test, result, 'm_bb')",
    "drawFeatures(feature, model.bestModel)",
    "hist_signal, hist_bkg = compute_hist(data=df, feature='m_bb', target='label', n_bins=50,"
    " x_lim=[0, 3])\nx = np.array(hist_signal[1])\nplt.plot(hist_signal[0][:-1], x)\n"
    "print(int(x.sum()))",
]


@pytest.mark.notebooks
def test_an_old_course_notebook_runs_by_changing_its_import_line(tmp_path, monkeypatch):
    import mlcourse

    frame = mlcourse.synthetic_events(4_000, seed=3)
    frame.to_parquet(tmp_path / "higgs-old.parquet")
    monkeypatch.setenv("MLCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in OLD_STYLE])
    execute(nb, tmp_path, "old_course.ipynb")
    outputs = {c.source.split("\n")[0]: c.outputs for c in nb.cells}
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert errors == []
    stderr = [o["text"] for c in nb.cells for o in c.outputs if o.get("name") == "stderr"]
    assert stderr == []  # no red box anywhere, the first cells included
    assert outputs["num_workers = 2"] == []  # `spark = %sc N` shows nothing
    master = outputs["from pyspark.sql import SparkSession"][0]["data"]["text/plain"]
    assert master == "'local[2]'"
    assert outputs["hdfs_path = %hdfs_path"][0]["data"]["text/plain"] == "4000"
    printed = outputs["printMetrics(evaluator, result)"]
    assert [o["output_type"] for o in printed] == ["stream"] and "AUC" in printed[0]["text"]
    for plot in ("drawROC(result)", "plotSignalvsBg(df, 'm_bb')", "drawFeatures(feature, "):
        kinds = [
            o["output_type"] for o in next(v for k, v in outputs.items() if k.startswith(plot))
        ]
        assert kinds == ["display_data"], (plot, kinds)  # the figure, and no Out[] line
    signal = frame.m_bb[frame.label == 1]
    expected = int(np.histogram(signal, 50, (0, 3))[0].sum())
    cell = next(v for k, v in outputs.items() if k.startswith("hist_signal, hist_bkg"))
    assert cell[0]["text"].strip() == str(expected)
    assert not list(tmp_path.glob("*.pdf"))  # nothing written beside the notebook
