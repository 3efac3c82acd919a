"""What `make run` installs and what the README points at (issue 18, item 11): running
needs only the runtime dependencies, and the project carries its own documentation."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_and_the_tools_are_not_runtime_ones() -> None:
    runtime = PYPROJECT["project"]["dependencies"]
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    for requirement in runtime + dev:
        assert "==" in requirement, f"{requirement} is not pinned"
    tools = {"pytest", "playwright", "mypy", "ruff", "matplotlib", "hypothesis", "schemathesis"}
    assert tools <= {_name(r) for r in dev}
    assert not tools & {_name(r) for r in runtime}


def test_make_run_installs_the_project_without_its_development_extras() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = re.search(r"^run: (\S+)$", makefile, re.MULTILINE)
    assert run is not None and run.group(1) == "$(RUNTIME)"
    recipe = re.search(r"^\$\(RUNTIME\):.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert "$(PIP) -e .\n" in recipe.group(1) and "[dev]" not in recipe.group(1)


def test_serving_imports_no_development_package() -> None:
    # A fresh interpreter imports what `dentalcare serve --demo` imports, then lists what
    # came in: none of it may be a development tool.
    probe = (
        "import sys, dentalcare.cli, dentalcare.app, dentalcare.demo.service;"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout.split()
    )
    assert "dentalcare" in loaded and "fastapi" in loaded
    for tool in ("pytest", "playwright", "mypy", "ruff", "matplotlib", "hypothesis", "aiosmtpd"):
        assert tool not in loaded, f"serving imports {tool}"


def test_the_readme_links_the_projects_own_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../shared/" not in readme
    for doc in ("docs/API.md", "docs/ARCHITECTURE.md"):
        assert (ROOT / doc).is_file()
        assert f"]({doc})" in readme, f"the README does not link {doc}"
