"""Declare what you import, import what you declare.

Walks every ``import`` in ``src/`` and ``pipelines/`` (the code that ships), maps each top-level
third-party module to the distribution that provides it (``importlib.metadata``), and compares with
``[project].dependencies`` in pyproject.toml. ``tests/`` may also use the ``dev`` extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("src", "pipelines")
#: Our own modules: the packages, plus scripts tests put on sys.path (benchmarks/*.py, tests/fakes/...).
FIRST_PARTY = {"tradeflow", "pipelines", "tests"} | {
    p.stem for d in ("benchmarks", "tests") for p in (ROOT / d).rglob("*.py")}

#: Declared runtime dependencies that no module imports, and why. Extend it when adding one.
USED_WITHOUT_IMPORT: dict[str, str] = {}

#: Namespace packages several distributions install into: module prefix → the distribution
#: (longest prefix wins). ``dbt`` is shared by dbt-core, dbt-adapters, dbt-common, dbt-duckdb, …
NAMESPACES = {"dbt.adapters.duckdb": "dbt-duckdb", "dbt": "dbt-core"}


def _name(requirement: str) -> str:
    """PEP 503-normalised distribution name of a requirement string."""
    return _norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared() -> set[str]:
    return {_name(r) for r in _project()["dependencies"]}


def declared_dev() -> set[str]:
    return {_name(r) for r in _project().get("optional-dependencies", {}).get("dev", [])}


def imported_modules(folders: tuple[str, ...]) -> dict[str, list[str]]:
    """Top-level module → where it is imported (``path:line``), absolute imports only."""
    found: dict[str, list[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    prefix = next((ns for ns in sorted(NAMESPACES, key=len, reverse=True)
                                   if name == ns or name.startswith(ns + ".")), None)
                    found.setdefault(prefix or name.split(".")[0], []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def third_party(modules: dict[str, list[str]]) -> dict[str, list[str]]:
    """Distribution → where it is imported, for every module that is neither stdlib nor ours."""
    dists = packages_distributions()
    out: dict[str, list[str]] = {}
    for module, where in modules.items():
        if module in FIRST_PARTY or module in sys.stdlib_module_names or module == "__future__":
            continue
        providers = [NAMESPACES[module]] if module in NAMESPACES else dists.get(module)
        assert providers, f"{module} (imported at {where[0]}) is not installed: cannot tell which distribution it is"
        for dist in providers:
            out.setdefault(_norm(dist), []).extend(where)
    return out


def test_every_imported_distribution_is_declared():
    missing = {dist: where[:3] for dist, where in third_party(imported_modules(SHIPPED)).items()
               if dist not in declared()}
    assert missing == {}, f"imported but not in [project].dependencies: {missing}"


def test_tests_import_only_declared_or_dev_distributions():
    allowed = declared() | declared_dev()
    missing = {dist: where[:3] for dist, where in third_party(imported_modules(("tests",))).items()
               if dist not in allowed}
    assert missing == {}, f"tests import distributions declared nowhere: {missing}"


def test_every_declared_dependency_is_imported_or_explained():
    imported = set(third_party(imported_modules(SHIPPED)))
    unused = declared() - imported - {_norm(d) for d in USED_WITHOUT_IMPORT}
    assert unused == set(), f"declared in [project].dependencies but never imported (drop, or explain in USED_WITHOUT_IMPORT): {unused}"


def test_the_allow_list_is_not_stale():
    """An explained dependency must still be declared (else drop its entry)."""
    stale = {_norm(d) for d in USED_WITHOUT_IMPORT} - declared()
    assert stale <= {"dbt-duckdb"}, stale  # dbt-duckdb: added with the dbt project (issue 13)


def test_the_checker_sees_what_it_should():
    mods = imported_modules(SHIPPED)
    assert {"duckdb", "dagster", "pandas", "yaml"} <= set(mods)
    dists = third_party(mods)
    assert "pyyaml" in dists and "markupsafe" in dists  # module name ≠ distribution name is mapped
