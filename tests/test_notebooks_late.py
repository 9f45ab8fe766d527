"""Days 3 and 4 and the final hands-on, executed as tests/test_notebooks.py executes the
others (its helpers and checks), from a file of their own: the two pytest-xdist workers
take one file each, so the notebooks' two halves run at once."""

from __future__ import annotations

import pytest

from .test_notebooks import LATE, run_and_check


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook-data-late")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", LATE, ids=lambda p: p.name)
def test_notebook_runs_end_to_end(path, data_dir, monkeypatch, tmp_path):
    run_and_check(path, data_dir, monkeypatch, tmp_path)
