"""The documentation site: it builds without a warning, and every public name and every
command of the CLI has its entry."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlcourse
from mlcourse.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html"]
    run = subprocess.run([*build, str(ROOT / "docs"), str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


def _commands(parser: argparse.ArgumentParser, prefix: str = "mlcourse") -> list[str]:
    """Every command path of the parser: 'mlcourse data calibrate', ..."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found += _commands(sub, f"{prefix} {name}")
    return found


def test_every_public_name_has_an_entry_in_the_api_reference(site):
    ids = set(re.findall(r'id="(mlcourse\.[A-Za-z_]+)"', (site / "reference/api.html").read_text()))
    public = {f"mlcourse.{name}" for name in mlcourse.__all__ if name != "__version__"}
    assert public - ids == set()


def test_every_command_has_an_entry_in_the_cli_reference(site):
    commands = _commands(build_parser())
    assert "mlcourse data calibrate" in commands and len(commands) >= 12
    html = (site / "reference/cli.html").read_text()
    missing = [c for c in commands if f'id="{c.replace(" ", "-")}"' not in html]
    assert missing == []


def test_the_site_has_the_pages_the_readme_links_to(site):
    readme = (ROOT / "README.md").read_text()
    for page in re.findall(r"\(docs/([\w/-]+)\.md\)", readme):
        assert (site / f"{page}.html").is_file(), page
    pages = [p for p in site.rglob("*.html") if p.name not in {"genindex.html", "search.html"}]
    assert len(pages) >= 13
