"""Bundles written to disk for the policy tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def write_bundle(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def write_tarball(target: Path, files: dict[str, bytes]) -> Path:
    """A .tar.gz laid out as ``opa build`` writes one (names with a leading slash)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo("/" + name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    target.write_bytes(buffer.getvalue())
    return target
