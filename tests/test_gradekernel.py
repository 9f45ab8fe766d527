"""The grader's own cells and how their results are read back (no kernel needed here; the
notebooks tier runs them in real kernels, tests/test_grading.py)."""

from __future__ import annotations

import json

from mlcourse.course.checking import GRADE_MIME
from mlcourse.course.gradekernel import check_calls, grader_cells, grader_results


def code(source: str) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}


def test_the_students_explicit_arguments_are_read_from_the_last_call():
    nb = {
        "cells": [
            code('mlcourse.check("day2_gbt.ex2", first, model=old)'),
            code('%%classic_only why\nmlcourse.check("day4.ex1", best, model=stopped)'),
            code('%%bash\nmlcourse.check("day1.ex1", 0.5)'),  # not Python
            code('!ls\nmlcourse.check("day2_gbt.ex2", cv_auc, model=my_cv)'),
            code('mlcourse.check("day1.ex3")'),  # no arguments: found in the notebook
            code("mlcourse.check('final.q1', *answers)"),  # starred: left to the notebook
            code("this is not python ("),
        ]
    }
    assert check_calls(nb) == {
        "day2_gbt.ex2": (["cv_auc"], {"model": "my_cv"}),
        "day4.ex1": (["best"], {"model": "stopped"}),
    }


def test_the_grader_cells_reset_and_import_afresh():
    reset, grade = grader_cells(
        ["day2_gbt.ex2", "day1.ex1"], {"day2_gbt.ex2": (["cv_auc"], {"model": "my_cv"})},
        "/site", "n0nce",
    )  # fmt: skip
    assert "del sys.modules[name]" in reset and "sys.path[:] = [package]" in reset
    assert "_mlcourse_grader_reset('/site')" in reset
    assert (
        "_mlcourse_grader_arguments['day2_gbt.ex2'] = (((cv_auc), ), {'model': (my_cv)})" in reset
    )
    assert "n0nce" not in reset  # the nonce is only in the last cell
    assert "report_to_grader('n0nce', ['day2_gbt.ex2', 'day1.ex1']" in grade
    compile(reset, "<reset>", "exec")
    compile(grade, "<grade>", "exec")


def output(record: dict) -> dict:
    return {"output_type": "display_data", "data": {GRADE_MIME: json.dumps(record)}}


def test_only_the_last_cells_outputs_with_the_nonce_count():
    good = {"nonce": "abc", "exercise": "day1.ex1", "passed": True, "message": "ok"}
    forged = {**good, "nonce": "guess", "exercise": "day1.ex3"}
    earlier = code("print('x')")
    earlier["outputs"] = [output({**good, "exercise": "day1.ex2"})]  # a student cell's
    last = code("report_to_grader('abc', ...)")
    last["outputs"] = [output(good), output(forged), {"output_type": "stream", "text": "p"}]
    executed = {"cells": [earlier, last]}
    exercises = ["day1.ex1", "day1.ex2", "day1.ex3"]
    assert grader_results(executed, "abc", exercises) == {"day1.ex1": (True, "ok")}
    last["outputs"].append(output({**good, "passed": False}))  # reported twice
    assert grader_results(executed, "abc", exercises) == {
        "day1.ex1": (False, "reported more than once: the grade was tampered with")
    }
    # a last cell that is not the grader's (it never ran, or was replaced): nothing counts
    assert grader_results({"cells": [last, earlier]}, "abc", exercises) == {}
