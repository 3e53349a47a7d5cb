"""OPA bundles: the versioned policy artifacts every decision is recorded against.

A bundle is a directory or a ``.tar.gz`` in OPA's bundle format: an optional ``.manifest``
(``revision``, ``roots``), ``*.rego`` policies, and ``data.json`` files whose directory is their
place in ``data``. Its revision is the manifest's, or else a digest of its contents, so that two
different bundles never share a revision and any recorded decision can find its bundle again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from agento._errors import BundleError, PolicyProblem
from agento._policy.rego import location, package_path
from agento._policy.signing import SIGNATURES, BundleVerification, verify

_MANIFEST = ".manifest"


@dataclass(frozen=True)
class PolicyBundle:
    """A loaded, not yet compiled, policy bundle. Engines compile it (`agento.EmbeddedEngine`)."""

    revision: str
    """The manifest's revision, or ``sha256:<digest>`` of the bundle's files."""
    source: str
    """Where it was loaded from, for messages."""
    roots: tuple[str, ...]
    """Path prefixes the bundle owns (``.manifest`` ``roots``); ``("",)`` means everything."""
    modules: Mapping[str, str] = field(repr=False)
    """Rego source by file name."""
    data: Mapping[str, object] = field(repr=False)
    """The merged ``data`` document."""
    packages: frozenset[str]
    """Policy paths (``agento/commissioning/routing``) the bundle defines."""
    signing_key_id: str | None = None
    """The id of the key its signature verified with; ``None`` when it was not verified."""

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, verification: BundleVerification | None = None
    ) -> PolicyBundle:
        """Load a bundle directory or ``.tar.gz``; `BundleError` names what is wrong. With
        ``verification``, its ``.signatures.json`` must verify (OPA's rules), or it is refused."""
        p = Path(path)
        return cls.from_files(read_bundle(p), source=str(p), verification=verification)

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, bytes],
        *,
        source: str,
        verification: BundleVerification | None = None,
    ) -> PolicyBundle:
        """Build a bundle from file names (relative, ``/``-separated) and contents."""
        files = {
            _normalise(name, source): content for name, content in files.items() if _wanted(name)
        }
        key_id = verify(files, verification, source=source) if verification else None
        files.pop(SIGNATURES, None)  # the signature vouches for the content; it is not content
        problems: list[PolicyProblem] = []
        manifest = _manifest(files.get(_MANIFEST), problems)
        modules: dict[str, str] = {}
        data: dict[str, object] = {}
        for name, content in sorted(files.items()):
            if name.endswith(".rego"):
                try:
                    modules[name] = content.decode("utf-8")
                except UnicodeDecodeError:
                    problems.append(PolicyProblem(name, 1, 1, "not UTF-8 text"))
            elif PurePosixPath(name).name == "data.json":
                _merge_data(data, name, content, problems)
        if not modules and not problems:
            raise BundleError(f"bundle {source} has no policies: it holds no *.rego file")

        roots = _roots(manifest, problems)
        packages = set()
        for name, text in modules.items():
            package = package_path(text)
            if package is None:
                problems.append(PolicyProblem(name, 1, 1, "no package declaration"))
                continue
            packages.add(package)
            if not any(_under(package, root) for root in roots):
                row, column = location(text, text.find("package"))
                problems.append(
                    PolicyProblem(
                        name, row, column, f"package {package} is outside the bundle's roots"
                    )
                )
        if problems:
            raise BundleError(f"bundle {source} cannot be loaded", problems)

        revision = manifest.get("revision")
        return cls(
            revision=revision if isinstance(revision, str) and revision else _digest(files),
            source=source,
            roots=roots,
            modules=MappingProxyType(modules),
            data=MappingProxyType(data),
            packages=frozenset(packages),
            signing_key_id=key_id,
        )


def read_bundle(path: Path) -> dict[str, bytes]:
    """A bundle directory's or ``.tar.gz``'s files as they are, signatures included."""
    if path.is_dir():
        return bundle_files(path)
    if path.is_file():
        return _read_tarball(path)
    raise BundleError(f"no bundle at {path}: not a directory or a .tar.gz file")


def bundle_files(root: Path) -> dict[str, bytes]:
    """A bundle directory's files (those a bundle is made of), by ``/``-separated relative name."""
    return {
        f.relative_to(root).as_posix(): f.read_bytes()
        for f in sorted(root.rglob("*"))
        if f.is_file() and _wanted(f.relative_to(root).as_posix())
    }


def build_tarball(files: Mapping[str, bytes]) -> bytes:
    """A ``.tar.gz`` of a bundle's files, as ``opa build`` packs one (names relative, sorted,
    no timestamps), so that the same files always make the same bytes."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(f"/{_normalise(name, 'the bundle being built')}")
            info.size, info.mode = len(content), 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _wanted(name: str) -> bool:
    base = PurePosixPath(name).name
    return base in (_MANIFEST, "data.json", SIGNATURES) or base.endswith(".rego")


def _normalise(name: str, source: str) -> str:
    """A member's name as the bundle knows it: ``/x.rego`` and ``./x.rego`` (as ``opa build``
    and ``tar -C dir .`` write them) are ``x.rego``. Any other spelling (``//x``, ``a//b``,
    ``a/./b``, ``..``) is refused: one file must not have two names, or a name outside."""
    parts = name.removeprefix("/").split("/")
    while len(parts) > 1 and parts[0] == ".":
        parts.pop(0)
    if any(part in ("", ".", "..") for part in parts):
        raise BundleError(
            f"bundle {source} has a member named {name!r}, which is not a plain relative path: "
            "rebuild it with opa build or tar -C DIR ."
        )
    return "/".join(parts)


def _read_tarball(path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, "r:gz") as archive:
            return {
                member.name: _extract(archive, member)
                for member in archive.getmembers()
                if member.isfile() and _wanted(member.name)
            }
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BundleError(f"bundle {path} is not a readable .tar.gz: {e}") from e


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    return handle.read() if handle else b""


def _manifest(content: bytes | None, problems: list[PolicyProblem]) -> dict[str, object]:
    if content is None:
        return {}
    try:
        value = json.loads(content)
    except ValueError as e:
        problems.append(_json_problem(_MANIFEST, content, e))
        return {}
    if not isinstance(value, dict):
        problems.append(PolicyProblem(_MANIFEST, 1, 1, "the manifest is not a JSON object"))
        return {}
    return value


def _roots(manifest: Mapping[str, object], problems: list[PolicyProblem]) -> tuple[str, ...]:
    roots = manifest.get("roots", [""])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        problems.append(PolicyProblem(_MANIFEST, 1, 1, "roots is not a list of strings"))
        return ("",)
    return tuple(str(r).strip("/") for r in roots)


def _under(package: str, root: str) -> bool:
    return not root or package == root or package.startswith(root + "/")


def _merge_data(
    data: dict[str, object], name: str, content: bytes, problems: list[PolicyProblem]
) -> None:
    try:
        value = json.loads(content)
    except ValueError as e:
        problems.append(_json_problem(name, content, e))
        return
    if not isinstance(value, dict):
        problems.append(PolicyProblem(name, 1, 1, "data.json must hold a JSON object"))
        return
    target = data
    for part in PurePosixPath(name).parent.parts:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            problems.append(PolicyProblem(name, 1, 1, f"conflicts with data at {part!r}"))
            return
        target = child
    target.update(value)


def _json_problem(name: str, content: bytes, error: ValueError) -> PolicyProblem:
    if isinstance(error, json.JSONDecodeError):
        return PolicyProblem(name, error.lineno, error.colno, f"invalid JSON: {error.msg}")
    return PolicyProblem(name, 1, 1, f"invalid JSON: {error}")


def _digest(files: Mapping[str, bytes]) -> str:
    listing = hashlib.sha256()
    for name in sorted(files):
        listing.update(f"{name}\0{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    return f"sha256:{listing.hexdigest()}"
