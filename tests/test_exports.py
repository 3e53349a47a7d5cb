"""The public table in ``agento/__init__.py``: every name listed once, in one order, in the
type-checking imports, ``__all__`` and ``_HOMES``, and importable from its home."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import typing
from pathlib import Path
from types import FunctionType

import pytest

import agento

_INIT = Path(agento.__file__)


def _type_checking_imports() -> list[tuple[str, str]]:
    """(name, module) of each import under ``if TYPE_CHECKING:``, in source order."""
    tree = ast.parse(_INIT.read_text())
    [block] = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    return [
        (alias.name, node.module or "")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]


def test_the_three_lists_name_the_same_names_in_the_same_order() -> None:
    imported = _type_checking_imports()
    assert [name for name, _ in imported] == agento.__all__
    assert list(agento._HOMES) == agento.__all__
    assert dict(imported) == agento._HOMES
    assert len(set(agento.__all__)) == len(agento.__all__), "a name listed twice"


@pytest.mark.parametrize("name", agento.__all__)
def test_each_public_name_is_its_homes_object(name: str) -> None:
    home = importlib.import_module(agento._HOMES[name])
    assert getattr(agento, name) is getattr(home, name)


@pytest.mark.parametrize("name", agento.__all__)
def test_each_public_class_or_function_shows_its_public_home_or_keeps_its_hints(
    name: str,
) -> None:
    value = getattr(agento, name)
    if isinstance(value, type):
        if any(vars(c).get("__annotations__") for c in value.__mro__[:-1]):
            # A model or dataclass: get_type_hints resolves it in its defining module.
            assert value.__module__.startswith("agento.")
            typing.get_type_hints(value)
        else:
            assert f"{value.__module__}.{value.__qualname__}" == f"agento.{name}"
    elif isinstance(value, FunctionType):
        assert value.__module__ == "agento"
        typing.get_type_hints(value)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="module 'agento' has no attribute 'Agento'"):
        agento.Agento  # type: ignore[attr-defined]  # noqa: B018


def test_dir_and_star_import_offer_exactly_the_public_names() -> None:
    assert dir(agento) == sorted(agento.__all__)
    namespace: dict[str, object] = {}
    exec("from agento import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(agento.__all__)


def test_importing_agento_imports_no_engine_or_temporal_runtime() -> None:
    """The table is lazy: ``import agento`` (and so the mypy plugin) loads none of it."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, agento; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [m for m in loaded if m.startswith(("temporalio", "regopy", "agento."))] == []
