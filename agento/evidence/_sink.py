"""Exporting packs as runs close: every closed run a visibility query selects is exported once
into a sink the deployment configures, before the namespace's retention deletes its history.

It runs beside the workers (`watch_closed_runs`, or ``agento evidence watch``), not in them: a
workflow cannot write files, and a run's closing event is in history only after it closed.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from securesystemslib.signer import Key, Signer
from temporalio.client import Client

from agento._reviews.resolution import ReviewKeys
from agento.evidence._export import evidence_pack
from agento.evidence._pack import write_atomically


class EvidenceSink(Protocol):
    """Where packs go, by name (``<workflow id>.<run id>.agento-evidence.zip``). An object store
    fits: ``exists`` is a HEAD, ``put`` a PUT."""

    def exists(self, name: str) -> bool: ...

    def put(self, name: str, pack: bytes) -> None: ...


@dataclass(frozen=True)
class DirectorySink:
    """Packs as files in ``directory``, each written whole or not at all."""

    directory: Path

    def exists(self, name: str) -> bool:
        return (self.directory / name).exists()

    def put(self, name: str, pack: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomically(self.directory / name, pack)


@dataclass(frozen=True)
class EvidenceExport:
    """What signs and fills the packs of closed runs."""

    signer: Signer
    bundles: tuple[str | os.PathLike[str], ...]
    """Bundle directories or ``.tar.gz`` files: every revision that decides the runs."""
    receipt_keys: tuple[Key, ...]
    review_keys: ReviewKeys | None = None
    tsa_url: str | None = None
    """An RFC 3161 timestamp authority that timestamps every pack's manifest."""


def pack_name(workflow_id: str, run_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", workflow_id)
    return f"{safe}.{run_id}.agento-evidence.zip"


async def export_closed_runs(
    client: Client, export: EvidenceExport, sink: EvidenceSink, *, query: str = ""
) -> list[str]:
    """Export every closed run ``query`` selects (a visibility query: ``WorkflowType =
    'Commissioning'``; all closed runs without it) whose pack ``sink`` lacks; the names
    written. A run that cannot be exported (a deciding bundle not given, say) raises, naming
    it: nothing is skipped silently."""
    query = "ExecutionStatus != 'Running'" + (f" AND ({query})" if query else "")
    written = []
    async for execution in client.list_workflows(query):
        name = pack_name(execution.id, execution.run_id)
        if await asyncio.to_thread(sink.exists, name):
            continue
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        pack = evidence_pack(
            history,
            signer=export.signer,
            bundles=export.bundles,
            receipt_keys=export.receipt_keys,
            review_keys=export.review_keys,
            tsa_url=export.tsa_url,
        )
        await asyncio.to_thread(sink.put, name, pack)
        written.append(name)
    return written


async def watch_closed_runs(
    client: Client,
    export: EvidenceExport,
    sink: EvidenceSink,
    *,
    query: str = "",
    interval: timedelta = timedelta(seconds=30),
) -> None:
    """`export_closed_runs` every ``interval``, until cancelled."""
    while True:
        await export_closed_runs(client, export, sink, query=query)
        await asyncio.sleep(interval.total_seconds())
