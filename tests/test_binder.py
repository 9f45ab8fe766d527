"""The Binder (repo2docker) configuration agrees with itself and the package; postBuild runs."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlcourse import resolve_profile

from .httpserver import FaultServer

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def lines(name: str) -> list[str]:
    """The entries of a repo2docker list file, comments and blank lines removed."""
    text = (BINDER / name).read_text()
    return [
        ln.partition("#")[0].strip() for ln in text.splitlines() if ln.partition("#")[0].strip()
    ]


def test_java_17_from_apt():
    # Spark 4 does not run on 11; OpenBLAS gives MLlib its native BLAS (libblas.so.3)
    assert lines("apt.txt") == ["openjdk-17-jre-headless", "libopenblas0"]


def test_python_runtime_is_one_the_package_supports():
    (runtime,) = lines("runtime.txt")
    major, minor = map(int, re.fullmatch(r"python-(\d+)\.(\d+)", runtime).groups())
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert (major, minor) >= tuple(map(int, spec.removeprefix(">=").split(".")))


def test_requirements_install_the_package_itself():
    """repo2docker ignores the root pyproject.toml once binder/ exists."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entries = lines("requirements.txt")
    local = [e for e in entries if re.fullmatch(r"(-e\s+)?\.(\[[\w,\s-]*\])?", e)]
    assert len(local) == 1, "binder/requirements.txt must install the repository: '.'"
    extras = re.findall(r"[\w-]+", local[0].partition("[")[2])
    assert set(extras) <= set(project.get("optional-dependencies", {}))
    for entry in entries:
        if entry not in local:  # any other named package must be a real distribution
            name = re.split(r"[<>=!~\[;\s]", entry, maxsplit=1)[0]
            importlib.metadata.distribution(name)


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash(name):
    path = BINDER / name
    assert path.stat().st_mode & stat.S_IXUSR, f"chmod +x binder/{name}"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)
    if (ROOT / ".git").exists():  # the bit must be committed, not only set here
        mode = subprocess.run(
            ["git", "ls-files", "-s", f"binder/{name}"], cwd=ROOT, capture_output=True, text=True
        ).stdout.split(" ")[0]
        assert mode in ("", "100755")


def test_postbuild_stops_on_errors_and_start_hands_over():
    post = (BINDER / "postBuild").read_text()
    assert re.search(r"^set -e", post, flags=re.M)
    start = [ln for ln in (BINDER / "start").read_text().splitlines() if ln.strip()]
    assert start[-1] == 'exec "$@"'


def test_start_selects_an_existing_small_profile():
    start = (BINDER / "start").read_text()
    name = re.search(r"MLCOURSE_PROFILE=\"\$\{MLCOURSE_PROFILE:-(\w+)\}\"", start).group(1)
    profile = resolve_profile(name)
    assert profile.master == "local[2]"
    assert profile.conf["spark.driver.memory"] == "768m"  # Binder gives 1-2 GB
    assert "MLCOURSE_PROFILE=binder" in (BINDER / "postBuild").read_text()


@pytest.mark.processes
def test_postbuild_in_a_temporary_prefix(tmp_path):
    """The real script: kernel extension in {prefix}/etc/ipython, data prepared, idempotent."""
    from traitlets.config.loader import PyFileConfigLoader

    prefix, data = tmp_path / "prefix", tmp_path / "data"
    settings = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings.parent.mkdir(parents=True)
    theme = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}
    settings.write_text(json.dumps(theme))  # a hub's own setting, which must stay
    with FaultServer({}) as server:  # UCI unreachable: answers 404
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "MLCOURSE_PREFIX": str(prefix),
            "MLCOURSE_DATA_DIR": str(data),
            "MLCOURSE_EVENTS": "3k",
            "MLCOURSE_HIGGS_URL": server.url("ok", "HIGGS.csv.gz"),
        }
        for _ in range(2):
            run = subprocess.run(
                ["bash", "binder/postBuild"], cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert run.returncode == 0, run.stderr[-3000:]
    assert "3,000 synthetic HIGGS events ready as Parquet" in run.stdout
    assert (data / "higgs-synthetic-3k-seed0.parquet" / "_SUCCESS").is_file()
    config_file = prefix / "etc" / "ipython" / "ipython_kernel_config.py"
    assert config_file.read_text().count("sparkmonitor.kernelextension") == 1
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    extensions = config.InteractiveShellApp.extensions
    names = extensions.get_value([]) if hasattr(extensions, "get_value") else extensions
    assert names == ["sparkmonitor.kernelextension"]
    importlib.import_module("sparkmonitor.kernelextension")
    # JupyterLab draws every cell, so the monitor panel stays under its own cell
    overrides = json.loads(settings.read_text())
    assert overrides == {
        **theme,
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
        # no "official Jupyter news?" pop-up over a student's notebook
        "@jupyterlab/apputils-extension:notification": {
            "checkForUpdates": False,
            "fetchNews": "false",
        },
    }


def test_repo2docker_renders_the_build_we_mean(tmp_path):
    """The Dockerfile repo2docker itself renders from this repository (``--no-build``: no
    image, no daemon): Java and OpenBLAS from apt.txt, the Python of runtime.txt, the
    package with its jupyter extra, postBuild run at build time (it prepares the data,
    not a launch behind Binder's 1 Mbit/s egress) and start wired as the entrypoint."""
    repo2docker = Path(sys.executable).parent / "repo2docker"
    run = subprocess.run(
        [str(repo2docker), "--no-build", "--debug", "--user-name", "jovyan", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dockerfile = run.stdout
    assert "FROM docker.io/library/buildpack-deps:24.04" in dockerfile
    packages = sorted(lines("apt.txt"))
    assert f"--no-install-recommends {' '.join(packages)} &&" in dockerfile
    (runtime,) = lines("runtime.txt")
    version = runtime.removeprefix("python-")
    assert f"Building conda environment for python={version}" in run.stdout + run.stderr
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert ".[jupyter]" in lines("requirements.txt")
    build, entry = dockerfile.index("RUN ./binder/postBuild"), dockerfile.index("ENTRYPOINT")
    assert dockerfile.index('-r "binder/requirements.txt"') < build < entry  # installed first
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    post = (BINDER / "postBuild").read_text()
    assert re.search(r"^mlcourse data prepare --events .*100k", post, flags=re.M)
