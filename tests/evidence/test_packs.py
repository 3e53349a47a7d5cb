"""Evidence packs of a real commissioning run on the dev server (a deny, a signed approval, a
routed report): receipts made in the decision step, the pack, and its offline verification,
which every tampering below must fail with a message naming what broke."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from securesystemslib.signer import CryptoSigner
from temporalio.client import WorkflowHistory

from agento._audit.report import audit_report
from agento._errors import PolicyError
from agento._policy.bundle import read_bundle
from agento.evidence import (
    DecisionReceipt,
    DirectorySink,
    EvidenceExport,
    EvidenceVerification,
    export_closed_runs,
    verify_evidence,
    write_evidence,
)
from agento.evidence._pack import (
    AUDIT,
    HISTORY,
    MANIFEST,
    RECEIPTS,
    TIMESTAMP,
    PackPredicate,
)
from agento.evidence._timestamp import TimestampError
from agento.testing import assert_replays
from examples.commissioning.workflows import CommissioningWorkflow
from tests.support.commissioning_run import POLICY, plugin
from tests.support.evidence_packs import Exported, pack_members, public_pem, tampered
from tests.support.evidence_packs import exported as exported  # fixture: one exported run
from tests.support.tsa import Authority, serving

ROOT = Path(__file__).parents[2]
BEFORE_RECEIPTS = ROOT / "tests" / "support" / "histories" / "commissioning-bess-9-123c78.json"


def _failures(v: EvidenceVerification) -> list[str]:
    return [f"{c.check}: {c.message}" for c in v.checks if c.status == "failed"]


def _with_history(members: dict[str, bytes], history: WorkflowHistory) -> None:
    """Put ``history`` in the pack, with the audit report a forger would regenerate from it."""
    members[HISTORY] = history.to_json().encode()
    members[AUDIT] = audit_report(history).model_dump_json(indent=1).encode()


def _edited_history(
    e: Exported, edit: Callable[[list[dict[str, object]]], None]
) -> WorkflowHistory:
    document = json.loads(e.history.to_json())
    edit(document["events"])
    return WorkflowHistory.from_json(e.history.workflow_id, json.dumps(document))


def _decision_markers(events: list[dict[str, object]]) -> list[int]:
    return [
        i
        for i, event in enumerate(events)
        if event.get("markerRecordedEventAttributes", {}).get("markerName")  # type: ignore[attr-defined]
        == "core_local_activity"
    ]


def test_the_pack_of_a_commissioning_run_verifies(exported: Exported) -> None:
    v = verify_evidence(exported.pack, keys=[exported.manifest_signer.public_key])
    assert v.ok, _failures(v)
    found = {c.check: c.message for c in v.checks}
    assert set(found) == {
        "manifest",
        "members",
        "history",
        "receipts",
        "resolutions",
        "side_effects",
        "replay",
    }
    assert found["receipts"].startswith("2 decisions, each with a verified receipt")
    assert found["resolutions"] == "1 of 1 resolutions signed and verified"
    assert found["replay"] == "2 of 2 decisions reproduce against the pack's bundles"


def test_receipts_are_signed_in_the_decision_step_and_chained(exported: Exported) -> None:
    decisions = audit_report(exported.history).decisions
    receipts = [d.decision.receipt for d in decisions]
    assert all(isinstance(r, DecisionReceipt) for r in receipts)
    signed = [r for r in receipts if r is not None]
    assert [r.statement.previous for r in signed] == [None, *[r.digest for r in signed[:-1]]]
    first = signed[0].statement
    assert (first.policy, first.allow, first.activity) == (
        "agento/commissioning/routing",
        False,
        "generate_and_route_report",
    )
    assert first.workflow_id == exported.history.workflow_id
    assert signed[0].key_id == exported.receipt_signer.public_key.keyid


def test_editing_any_byte_of_any_member_fails_naming_the_member(
    exported: Exported, tmp_path: Path
) -> None:
    names = [n for n in pack_members(exported.pack) if n != MANIFEST]
    assert any(n.startswith("bundles/") for n in names)
    for name in names:

        def flip(members: dict[str, bytes], name: str = name) -> None:
            content = bytearray(members[name])
            content[len(content) // 2] ^= 0x01
            members[name] = bytes(content)

        v = verify_evidence(
            tampered(exported, tmp_path, flip), keys=[exported.manifest_signer.public_key]
        )
        assert not v.ok
        assert _failures(v)[0].startswith(f"members: member {name} was changed"), name


def test_another_runs_history_fails(exported: Exported, tmp_path: Path) -> None:
    pack = tampered(
        exported,
        tmp_path,
        lambda m: _with_history(m, exported.other),
        resign=exported.manifest_signer,
    )
    v = verify_evidence(pack, keys=[exported.manifest_signer.public_key])
    assert _failures(v) == [
        f"history: {HISTORY} is the history of {exported.other.workflow_id} run "
        f"{v.run_id and _run_id(exported.other)}, not of {exported.history.workflow_id} run "
        f"{v.run_id} the manifest names"
    ]


def _run_id(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.original_execution_run_id


def test_a_removed_decision_event_fails(exported: Exported, tmp_path: Path) -> None:
    def remove_first_decision(events: list[dict[str, object]]) -> None:
        del events[_decision_markers(events)[0]]

    forged = _edited_history(exported, remove_first_decision)
    pack = tampered(
        exported, tmp_path, lambda m: _with_history(m, forged), resign=exported.manifest_signer
    )
    failures = _failures(verify_evidence(pack, keys=[exported.manifest_signer.public_key]))
    assert any(
        "chains to receipt sha256:" in f and "a decision was removed or reordered" in f
        for f in failures
    ), failures
    assert any("which the history does not record" in f for f in failures), failures


def test_a_changed_decision_result_fails(exported: Exported, tmp_path: Path) -> None:
    def allow_the_deny(events: list[dict[str, object]]) -> None:
        marker = events[_decision_markers(events)[0]]["markerRecordedEventAttributes"]
        payload = marker["details"]["result"]["payloads"][0]  # type: ignore[index]
        decision = json.loads(base64.b64decode(payload["data"]))
        decision["allow"] = True
        payload["data"] = base64.b64encode(json.dumps(decision).encode()).decode()

    forged = _edited_history(exported, allow_the_deny)
    pack = tampered(
        exported, tmp_path, lambda m: _with_history(m, forged), resign=exported.manifest_signer
    )
    failures = _failures(verify_evidence(pack, keys=[exported.manifest_signer.public_key]))
    assert any(
        f.startswith("receipts: decision ")
        and "the history's allow differ(s) from its signed receipt" in f
        for f in failures
    ), failures


def test_a_dropped_receipt_fails(exported: Exported, tmp_path: Path) -> None:
    def drop(members: dict[str, bytes]) -> None:
        receipts = json.loads(members[RECEIPTS])
        members[RECEIPTS] = json.dumps(receipts[1:]).encode()

    pack = tampered(exported, tmp_path, drop, resign=exported.manifest_signer)
    failures = _failures(verify_evidence(pack, keys=[exported.manifest_signer.public_key]))
    first = audit_report(exported.history).decisions[0].decision.decision_id
    assert failures == [
        f"receipts: {RECEIPTS} lacks the receipt of decision {first}, which the history records "
        "(it was dropped)"
    ]


def test_a_manifest_signed_with_another_key_fails(exported: Exported, tmp_path: Path) -> None:
    pack = tampered(exported, tmp_path, lambda m: None, resign=CryptoSigner.generate_ed25519())
    key = exported.manifest_signer.public_key
    failures = _failures(verify_evidence(pack, keys=[key]))
    assert len(failures) == 1
    assert failures[0].startswith(f"manifest: the manifest does not verify with key {key.keyid}")


def test_a_replaced_bundle_file_fails(exported: Exported, tmp_path: Path) -> None:
    def allow_everything(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.endswith("/routing.rego"))
        members[name] = b"package agento.commissioning.routing\n\nallow := true\n"

    pack = tampered(exported, tmp_path, allow_everything, resign=exported.manifest_signer)
    failures = _failures(verify_evidence(pack, keys=[exported.manifest_signer.public_key]))
    revision = audit_report(exported.history).decisions[0].decision.bundle_revision
    assert len(failures) == 1
    assert failures[0].startswith("replay: bundles/1/ holds bundle revision sha256:")
    assert failures[0].endswith(f"not {revision} (a file was replaced)")


def test_the_pack_holds_the_exact_bundle_sources(exported: Exported) -> None:
    members = pack_members(exported.pack)
    assert {
        name.removeprefix("bundles/1/"): content
        for name, content in members.items()
        if name.startswith("bundles/1/")
    } == read_bundle(POLICY)


async def test_a_history_recorded_before_receipts_replays(exported: Exported) -> None:
    """Recorded on the code before receipts (``git archive`` of that commit, the run of
    tests/support/commissioning_run.py): its decisions carry no receipt and its decision
    requests no previous receipt. It replays on a worker that signs receipts."""
    old = WorkflowHistory.from_json(BEFORE_RECEIPTS.stem, BEFORE_RECEIPTS.read_text())
    assert all(d.decision.receipt is None for d in audit_report(old).decisions)
    signing = plugin(receipt_signer=exported.receipt_signer)
    await assert_replays([old, exported.history], [CommissioningWorkflow], plugin=signing)


def test_cli_verify_exits_0_1_2_and_prints_json(exported: Exported, tmp_path: Path) -> None:
    key = tmp_path / "manifest.pub.pem"
    key.write_bytes(public_pem(exported.manifest_signer))

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agento", "evidence", "verify", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    good = verify(str(exported.pack), "--key", str(key), "--json")
    assert good.returncode == 0, good.stderr
    assert EvidenceVerification.model_validate_json(good.stdout).ok
    forged = tampered(exported, tmp_path, lambda m: None, resign=CryptoSigner.generate_ed25519())
    bad = verify(str(forged), "--key", str(key))
    assert bad.returncode == 1
    assert "FAILED manifest: the manifest does not verify with key" in bad.stdout
    missing = verify(str(tmp_path / "nothing.zip"), "--key", str(key))
    assert missing.returncode == 2
    assert missing.stderr.startswith("agento: cannot read evidence pack")


def test_the_predicate_follows_its_documented_schema(exported: Exported) -> None:
    schema = json.loads((ROOT / "docs" / "evidence-pack-schema.json").read_text())
    assert schema == PackPredicate.model_json_schema(), (
        "docs/evidence-pack-schema.json is out of date: run `python -c 'import json; from "
        "agento.evidence._pack import PackPredicate as P; "
        "print(json.dumps(P.model_json_schema(), indent=2))'`"
    )
    envelope = json.loads(pack_members(exported.pack)[MANIFEST])
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://agento.dev/evidence-pack/v1"
    jsonschema.validate(statement["predicate"], schema)


async def test_closed_runs_are_exported_into_a_directory_once_each(
    exported: Exported, tmp_path: Path
) -> None:
    export = EvidenceExport(
        signer=exported.manifest_signer,
        bundles=(POLICY,),
        receipt_keys=(exported.receipt_signer.public_key,),
        review_keys=plugin().review_keys,
    )
    sink = DirectorySink(tmp_path / "packs")
    ids = (exported.history.workflow_id, exported.other.workflow_id)
    query = " OR ".join(f"WorkflowId = '{i}'" for i in ids)
    written: list[str] = []
    for _ in range(100):  # visibility lists a closed run a moment after it closed
        written += await export_closed_runs(exported.client, export, sink, query=query)
        if len(written) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(written) == sorted(
        f"{h.workflow_id}.{_run_id(h)}.agento-evidence.zip"
        for h in (exported.history, exported.other)
    )
    for name in written:
        v = verify_evidence(sink.directory / name, keys=[exported.manifest_signer.public_key])
        assert v.ok, _failures(v)
    assert await export_closed_runs(exported.client, export, sink, query=query) == []
    assert not list(sink.directory.glob("*.partial"))


def test_pinned_keys_replace_the_packs_own(exported: Exported) -> None:
    manifest = [exported.manifest_signer.public_key]
    pinned = verify_evidence(
        exported.pack,
        keys=manifest,
        receipt_keys=[exported.receipt_signer.public_key],
        review_keys=plugin().review_keys,
    )
    assert pinned.ok, _failures(pinned)
    stranger = CryptoSigner.generate_ed25519().public_key
    failures = _failures(verify_evidence(exported.pack, keys=manifest, receipt_keys=[stranger]))
    key_id = exported.receipt_signer.public_key.keyid
    receipts = [f for f in failures if f.startswith("receipts:")]
    assert len(receipts) == 2, failures
    assert all(
        f"is signed by key {key_id}, which is not among the receipt keys" in f for f in receipts
    )
    reviews = _failures(verify_evidence(exported.pack, keys=manifest, review_keys={}))
    assert any(
        f.startswith("resolutions: resolution of agento-3-generate_and_route_report-review-1")
        for f in reviews
    ), reviews
    assert any(f.startswith("side_effects: activity generate_and_route_report") for f in reviews)


def test_export_refuses_what_it_could_not_prove_and_writes_nothing(
    exported: Exported, tmp_path: Path
) -> None:
    target = tmp_path / "refused.zip"
    with pytest.raises(PolicyError, match=r"decided by bundle revision\(s\) sha256:.*--bundle"):
        write_evidence(
            exported.history,
            target,
            signer=exported.manifest_signer,
            bundles=[],
            receipt_keys=[exported.receipt_signer.public_key],
        )
    with pytest.raises(PolicyError, match=r"whose public half was not given.*--receipt-key"):
        write_evidence(
            exported.history, target, signer=exported.manifest_signer, bundles=[POLICY],
            receipt_keys=[],
        )  # fmt: skip
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_export_reports_a_bad_key_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("hello")
    run = subprocess.run(
        [sys.executable, "-m", "agento", "evidence", "export", "wf", "--signing-key", str(bad),
         "--bundle", str(POLICY), "--address", "127.0.0.1:1"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith(f"agento: cannot use {bad} as an evidence signing key")
    assert len(run.stderr.splitlines()) == 1


def test_a_timestamped_pack_verifies_against_the_authoritys_root(
    exported: Exported, tmp_path: Path
) -> None:
    authority, stranger = Authority.create(), Authority.create()
    with serving(authority) as url:
        pack = write_evidence(
            exported.history,
            tmp_path / "timestamped.zip",
            signer=exported.manifest_signer,
            bundles=[POLICY],
            receipt_keys=[exported.receipt_signer.public_key],
            review_keys=plugin().review_keys,
            tsa_url=url,
        )
    keys = [exported.manifest_signer.public_key]
    checked = verify_evidence(pack, keys=keys, tsa_roots=[authority.root])
    assert checked.ok, _failures(checked)
    [stamp] = [c for c in checked.checks if c.check == "timestamp"]
    assert stamp.message.startswith("the manifest existed at 20")
    unchecked = verify_evidence(pack, keys=keys)
    assert [c.status for c in unchecked.checks if c.check == "timestamp"] == ["unchecked"]
    [refused] = _failures(verify_evidence(pack, keys=keys, tsa_roots=[stranger.root]))
    assert refused.startswith(
        "timestamp: manifest.dsse.json.tsr: the timestamp does not verify: Error while "
        "verifying certificates"
    ), refused
    # Another pack's timestamp does not vouch for this manifest.
    other = pack_members(exported.pack) | {"manifest.dsse.json.tsr": pack_members(pack)[TIMESTAMP]}
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(swapped, "w") as archive:
        for name, content in other.items():
            archive.writestr(name, content)
    assert _failures(verify_evidence(swapped, keys=keys, tsa_roots=[authority.root])) == [
        "timestamp: manifest.dsse.json.tsr: the timestamp does not verify: Mismatch between "
        "messages"
    ]
    untimed = _failures(verify_evidence(exported.pack, keys=keys, tsa_roots=[authority.root]))
    assert untimed == ["timestamp: the pack has no timestamp (manifest.dsse.json.tsr)"]


def test_an_authority_that_gives_no_timestamp_fails_the_export(
    exported: Exported, tmp_path: Path
) -> None:
    with pytest.raises(TimestampError, match=r"the timestamp authority at http://127.0.0.1:1/"):
        write_evidence(
            exported.history, tmp_path / "p.zip", signer=exported.manifest_signer,
            bundles=[POLICY], receipt_keys=[exported.receipt_signer.public_key],
            tsa_url="http://127.0.0.1:1/",
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []
