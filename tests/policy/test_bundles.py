"""Loading and compiling bundles: revisions, and every bad input refused with a located error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agento import BundleError, EmbeddedEngine, PolicyBundle, PolicyError
from tests.policy.bundles import write_bundle, write_tarball

ALLOW = "package demo\n\ndefault allow := false\n\nallow if input.ok == true\n"


def test_revision_is_the_manifests_when_given(tmp_path: Path) -> None:
    root = write_bundle(tmp_path, {"demo.rego": ALLOW, ".manifest": '{"revision": "r-42"}'})
    assert PolicyBundle.load(root).revision == "r-42"


def test_revision_is_a_content_digest_otherwise(tmp_path: Path) -> None:
    a = PolicyBundle.load(write_bundle(tmp_path / "a", {"demo.rego": ALLOW}))
    same = PolicyBundle.load(write_bundle(tmp_path / "b", {"demo.rego": ALLOW}))
    changed = PolicyBundle.load(write_bundle(tmp_path / "c", {"demo.rego": ALLOW + "\n"}))
    renamed = PolicyBundle.load(write_bundle(tmp_path / "d", {"other.rego": ALLOW}))
    assert a.revision.startswith("sha256:")
    assert a.revision == same.revision
    assert len({a.revision, changed.revision, renamed.revision}) == 3


def test_tarball_and_directory_are_the_same_bundle(tmp_path: Path) -> None:
    files = {"demo.rego": ALLOW, "demo/data.json": '{"limit": 3}'}
    directory = PolicyBundle.load(write_bundle(tmp_path / "dir", files))
    tarball = PolicyBundle.load(
        write_tarball(tmp_path / "b.tar.gz", {k: v.encode() for k, v in files.items()})
    )
    assert tarball.revision == directory.revision
    assert tarball.data == {"demo": {"limit": 3}}
    assert EmbeddedEngine(tarball).evaluate("demo", {"ok": True}).allow


def test_data_json_is_placed_by_its_directory(tmp_path: Path) -> None:
    policy = "package demo\n\nallow if input.n <= data.limits.demo.max\n"
    root = write_bundle(tmp_path, {"demo.rego": policy, "limits/demo/data.json": '{"max": 3}'})
    engine = EmbeddedEngine(root)
    assert engine.evaluate("demo", {"n": 3}).allow
    assert not engine.evaluate("demo", {"n": 4}).allow


def _problems(files: dict[str, str], tmp_path: Path) -> list[str]:
    with pytest.raises(BundleError) as raised:
        EmbeddedEngine(write_bundle(tmp_path, files))
    return [str(p) for p in raised.value.problems]


def test_syntax_error_is_located(tmp_path: Path) -> None:
    source = "package demo\n\nallow if {\n    1 +\n}\n"
    [problem] = _problems({"demo.rego": source}, tmp_path)
    assert problem.startswith("demo.rego:4:")


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("package demo\n\nallow {\n    true\n}\n", "demo.rego:3:7"),
        ('package demo\n\ndeny[msg] {\n    msg := "no"\n}\n', "demo.rego:3:11"),
        ("package demo\n\nf(x) {\n    x > 1\n}\n", "demo.rego:3:6"),
    ],
)
def test_v0_syntax_is_refused(source: str, where: str, tmp_path: Path) -> None:
    [problem] = _problems({"demo.rego": source}, tmp_path)
    assert problem.startswith(f"{where}: rule body without `if` (OPA v0 syntax)")


def test_v1_forms_are_accepted(tmp_path: Path) -> None:
    source = (
        "package demo\n\n"
        "import rego.v1\n\n"
        'limits := {"max": 3}\n\n'
        "double(x) := y if {\n    y := x * 2\n}\n\n"
        'deny contains "too many" if {\n    double(input.n) > limits.max\n}\n\n'
        "allow if {\n    count(deny) == 0\n    every x in [1, 2] {\n        x > 0\n    }\n}\n"
    )
    engine = EmbeddedEngine(write_bundle(tmp_path, {"demo.rego": source}))
    denied = engine.evaluate("demo", {"n": 2})
    assert not denied.allow
    assert engine.evaluate("demo", {"n": 1}).allow


def test_unknown_and_removed_builtins_are_refused(tmp_path: Path) -> None:
    source = "package demo\n\nallow if {\n    crypto.nope(input.x)\n    any([true])\n}\n"
    assert _problems({"demo.rego": source}, tmp_path) == [
        "demo.rego:4:5: unknown function `crypto.nope`: not a built-in and not defined here",
        "demo.rego:5:5: built-in `any` was removed in OPA 1.0",
    ]


def test_bundle_without_policies(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"has no policies: it holds no \*\.rego file"):
        PolicyBundle.load(write_bundle(tmp_path, {"data.json": "{}"}))


def test_data_json_that_is_not_an_object(tmp_path: Path) -> None:
    assert _problems({"demo.rego": ALLOW, "data.json": "[1, 2]"}, tmp_path) == [
        "data.json:1:1: data.json must hold a JSON object"
    ]


def test_data_json_that_is_not_json(tmp_path: Path) -> None:
    assert _problems({"demo.rego": ALLOW, "data.json": '{\n  "a": 1,\n}'}, tmp_path) == [
        "data.json:3:1: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def test_package_outside_the_manifest_roots(tmp_path: Path) -> None:
    files = {"demo.rego": ALLOW, ".manifest": json.dumps({"roots": ["agento"]})}
    assert _problems(files, tmp_path) == [
        "demo.rego:1:1: package demo is outside the bundle's roots"
    ]


def test_corrupt_tarball(tmp_path: Path) -> None:
    corrupt = tmp_path / "bundle.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(BundleError, match=r"is not a readable \.tar\.gz"):
        PolicyBundle.load(corrupt)


def test_missing_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no bundle at"):
        PolicyBundle.load(tmp_path / "nope")


def test_unknown_policy_path(tmp_path: Path) -> None:
    engine = EmbeddedEngine(write_bundle(tmp_path, {"demo.rego": ALLOW}))
    with pytest.raises(PolicyError, match=r"no policy 'agento/nope' in bundle .* it defines: demo"):
        engine.evaluate("agento/nope", {})


def test_input_that_is_not_json(tmp_path: Path) -> None:
    engine = EmbeddedEngine(write_bundle(tmp_path, {"demo.rego": ALLOW}))
    with pytest.raises(PolicyError, match="not a JSON document"):
        engine.evaluate("demo", {"when": object()})  # type: ignore[dict-item]
    with pytest.raises(PolicyError, match="not a JSON document"):
        engine.evaluate("demo", {"x": float("nan")})
