"""The course magics through a real IPython InteractiveShell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from mlcourse.config import login_user


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mlcourse")
    yield ip
    InteractiveShell.clear_instance()


def test_nothing_registers_on_import():
    import mlcourse  # noqa: F401

    fresh = InteractiveShell()
    assert "spark" not in fresh.magics_manager.magics["line"]


def test_spark_magic_returns_and_binds_session(shell, spark):
    result = shell.run_line_magic("spark", "2")
    assert result is spark
    assert shell.user_ns["spark"] is spark
    assert shell.run_line_magic("spark", "") is spark
    # the notebook idiom `spark = %spark`
    shell.run_cell("s2 = %spark", store_history=False)
    assert shell.user_ns["s2"] is spark


@pytest.mark.parametrize("line", ["abc", "2 3", "--profile", "--bogus", "0", "-1"])
def test_bad_arguments_raise_usage_error(shell, spark, line):
    with pytest.raises(UsageError):
        shell.run_line_magic("spark", line)


def test_conflicting_workers_is_a_usage_error(shell, spark):
    with pytest.raises(UsageError, match="already running"):
        shell.run_line_magic("spark", "3")


def test_unknown_profile_is_a_usage_error(shell, spark):
    with pytest.raises(UsageError, match="Known profiles"):
        shell.run_line_magic("data_path", "--profile nope")


def test_data_path_and_login_user(shell, spark, monkeypatch):
    assert shell.run_line_magic("data_path", "") == "./data"
    assert shell.run_line_magic("login_user", "") == login_user()
    monkeypatch.setenv("JUPYTERHUB_USER", "student42")
    assert shell.run_line_magic("login_user", "") == "student42"
    with pytest.raises(UsageError):
        shell.run_line_magic("login_user", "extra")


def test_loading_twice_is_harmless(shell, spark):
    shell.run_line_magic("load_ext", "mlcourse")
    import mlcourse

    mlcourse.load_ipython_extension(shell)
    assert shell.run_line_magic("spark", "") is spark


def test_bad_usage_shows_one_line_not_a_traceback(shell, spark, capsys):
    result = shell.run_cell("%spark abc", store_history=False)
    assert isinstance(result.error_in_exec, UsageError)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
