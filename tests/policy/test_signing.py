"""Signed bundles in OPA's format: OPA's own test vectors verify here, and every way a bundle can
fail its signature is refused with the file and the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import agento
from agento import BundleVerification, EmbeddedEngine, VerificationKey
from agento._audit.report import AuditReport, DecisionRecorded, render
from agento._policy.signing import SIGNATURES, _verified_payload, file_hash, sign
from tests.support.cli import agento as agento_cli
from tests.support.keys import es256_key_pair

# From OPA's v1/bundle/verify_test.go: tokens OPA signed, with the keys that verify them.
OPA_HS256_KID_FOO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZvbyJ9.eyJmaWxlcyI6W3sibmFtZSI6ImRiL3VhbTIvZW"
    "50aXRsZW1lbnRzL2RhdGEuanNvbiIsImhhc2giOiJjMjEzMTU0NGM3MTZhMjVhNWUzMWY1MDQzMDBmNTI0MGU4MjM1Y2"
    "FkYjlhNTdmMGJkMWI2ZjRiZDc0YjI2NjEyIiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoiZGIvdWFtMi9wb2"
    "xpY3kvb3BhLXBvbGljeS5yZWdvIiwiaGFzaCI6IjQyY2ZlNjc2OGI1N2JiNWY3NTAzYzE2NWMyOGRkMDdhYzViODEzNT"
    "U0ZWJjODUwZjJjYzM1ODQzZTcxMzdiMWQifV0sImlhdCI6MTU5MjI0ODAyNywiaXNzIjoiSldUU2VydmljZSIsInNjb3"
    "BlIjoid3JpdGUifQ.u7b_h88osJpU6VQLhIUmZjblsPNCO_kTqsVtpEAHavs"
)
OPA_HS256_KEYID_CLAIM = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmaWxlcyI6W3sibmFtZSI6ImRiL3VhbTIvZW50aXRsZW1lbnRzL2"
    "RhdGEuanNvbiIsImhhc2giOiJjMjEzMTU0NGM3MTZhMjVhNWUzMWY1MDQzMDBmNTI0MGU4MjM1Y2FkYjlhNTdmMGJkMW"
    "I2ZjRiZDc0YjI2NjEyIiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoiZGIvdWFtMi9wb2xpY3kvb3BhLXBvbG"
    "ljeS5yZWdvIiwiaGFzaCI6IjQyY2ZlNjc2OGI1N2JiNWY3NTAzYzE2NWMyOGRkMDdhYzViODEzNTU0ZWJjODUwZjJjYz"
    "M1ODQzZTcxMzdiMWQifV0sImlhdCI6MTU5MjI0ODAyNywiaXNzIjoiSldUU2VydmljZSIsImtleWlkIjoiZm9vIiwic2"
    "NvcGUiOiJ3cml0ZSJ9.4nrInalqppAc9EjsNUD9Y35amVpDGoRk4bkxzdY8fhs"
)
OPA_HS256_KID_BAR = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJhciJ9.eyJmaWxlcyI6W3sibmFtZSI6ImRiL3VhbTIvZW"
    "50aXRsZW1lbnRzL2RhdGEuanNvbiIsImhhc2giOiJjMjEzMTU0NGM3MTZhMjVhNWUzMWY1MDQzMDBmNTI0MGU4MjM1Y2"
    "FkYjlhNTdmMGJkMWI2ZjRiZDc0YjI2NjEyIiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoiZGIvdWFtMi9wb2"
    "xpY3kvb3BhLXBvbGljeS5yZWdvIiwiaGFzaCI6IjQyY2ZlNjc2OGI1N2JiNWY3NTAzYzE2NWMyOGRkMDdhYzViODEzNT"
    "U0ZWJjODUwZjJjYzM1ODQzZTcxMzdiMWQifV0sImlhdCI6MTU5MjI0ODAyNywiaXNzIjoiSldUU2VydmljZSIsInNjb3"
    "BlIjoid3JpdGUifQ.xW04tph2-dSy47uZ-CgiObvFWFLUsMym8N7ermgPZ0s"
)
OPA_RS256_KID_FOO = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZvbyJ9.eyJmaWxlcyI6W3sibmFtZSI6ImRiL3VhbTIvZW"
    "50aXRsZW1lbnRzL2RhdGEuanNvbiIsImhhc2giOiJjMjEzMTU0NGM3MTZhMjVhNWUzMWY1MDQzMDBmNTI0MGU4MjM1Y2"
    "FkYjlhNTdmMGJkMWI2ZjRiZDc0YjI2NjEyIiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoiZGIvdWFtMi9wb2"
    "xpY3kvb3BhLXBvbGljeS5yZWdvIiwiaGFzaCI6IjQyY2ZlNjc2OGI1N2JiNWY3NTAzYzE2NWMyOGRkMDdhYzViODEzNT"
    "U0ZWJjODUwZjJjYzM1ODQzZTcxMzdiMWQifV0sImlhdCI6MTU5MjI1MTQwNiwiaXNzIjoiSldUU2VydmljZSIsInNjb3"
    "BlIjoid3JpdGUifQ.UZcX_Qj29o213nwZ5mysiyNcgAp1AOqCkDLkj1KGZ7Cw3l17TbkF8t3FJd654sf762NGcABA0WQ2"
    "zxq-labXl_d5TKQmq23lurO3qLHI1cKQPyoxPbddGo78sJpMwWsiMyEYcyyKC9FpNUpa8cT81GPo4q9Zui8TAD0wtHh2Y"
    "xBL7E8QYLJxcLMJTJxVBgrQGLXFT7vYRc6hJz9Vu-i0SWuLBGxOCmYoHr4DWFfy0IhAbhiUFyLRpukfBPjCJNYY5Lga"
    "ZdN6LaYivtIEUms5jUuXubBimLJm7KOT5-bgJMXTcUsbrbl2Ma7PwG5IOKjjgyEvH8KVfGFZSzNrpuxKmA"
)
OPA_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA9KaakMv1XKKDaSch3PFR
3a27oaHp1GNTTNqvb1ZaHZXp+wuhYDwc/MTE67x9GCifvQBWzEGorgTq7aisiOyl
vKifwz6/wQ+62WHKG/sqKn2Xikp3P63aBIPlZcHbkyyRmL62yeyuzYoGvLEYel+m
z5SiKGBwviSY0Th2L4e5sGJuk2HOut6emxDi+E2Fuuj5zokFJvIT6Urlq8f3h6+l
GeR6HUOXqoYVf7ff126GP7dticTVBgibxkkuJFmpvQSW6xmxruT4k6iwjzbZHY7P
ypZ/TdlnuGC1cOpAVyU7k32IJ9CRbt3nwEf5U54LRXLLQjFixWZHwKdDiMTF4ws0
+wIDAQAB
-----END PUBLIC KEY-----"""
HMAC = VerificationKey("secret", "HS256")


class Refused(Exception):
    pass


def payload_key(token: str, config: BundleVerification) -> str:
    def refuse(name: str, reason: str) -> Exception:
        return Refused(f"{name}: {reason}")

    signatures = json.dumps({"signatures": [token]}).encode()
    return _verified_payload(signatures, config, refuse)[0]  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_opas_own_tokens_verify_as_opa_verifies_them() -> None:
    assert payload_key(OPA_HS256_KID_FOO, BundleVerification({"foo": HMAC}, scope="write")) == "foo"
    # The deprecated keyid claim names the key when the header has no kid.
    assert payload_key(OPA_HS256_KEYID_CLAIM, BundleVerification({"foo": HMAC}, scope="write")) == (
        "foo"
    )
    # A configured key id takes precedence over the token's kid.
    config = BundleVerification({"foo": HMAC}, key_id="foo", scope="write")
    assert payload_key(OPA_HS256_KID_BAR, config) == "foo"
    rsa = VerificationKey(OPA_PUBLIC_KEY, "RS256")
    assert payload_key(OPA_RS256_KID_FOO, BundleVerification({"foo": rsa}, scope="write")) == "foo"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("token", "config", "reason"),
    [
        (OPA_HS256_KID_FOO, BundleVerification({"foo": HMAC}, scope="read"), "scope mismatch"),
        (OPA_HS256_KID_FOO, BundleVerification({"foo": HMAC}), "scope mismatch"),
        (
            OPA_HS256_KID_FOO,
            BundleVerification({"foo": VerificationKey("bad_secret", "HS256")}, scope="write"),
            "does not verify",
        ),
        (OPA_HS256_KID_FOO, BundleVerification({"bar": HMAC}, scope="write"), "not configured"),
        (
            OPA_RS256_KID_FOO,
            BundleVerification({"foo": VerificationKey(OPA_PUBLIC_KEY, "HS256")}, scope="write"),
            "does not verify",  # the configured algorithm, not the token's, decides
        ),
        ("not.a.jwt", BundleVerification({"foo": HMAC}), "not a JWT"),
    ],
)
def test_opas_tokens_are_refused_as_opa_refuses_them(
    token: str, config: BundleVerification, reason: str
) -> None:
    with pytest.raises(Refused, match=reason):
        payload_key(token, config)


def test_structured_files_hash_as_opa_hashes_them() -> None:
    # OPA's verify_test.go: MD5 of .manifest {"revision": "quickbrownfaux"} is a005c38a...
    assert file_hash(".manifest", b'{"revision": "quickbrownfaux"}', "MD5") == (
        "a005c38a509dc2d5a7407b9494efb2ad"
    )
    # Parsed JSON: whitespace and key order do not matter, numbers are hashed as written.
    compact = file_hash("x/data.json", b'{"a":[1,"<b>"],"b":1.50}')
    assert file_hash("x/data.json", b'{\n  "b": 1.50,\n  "a": [ 1, "<b>" ]\n}') == compact
    assert file_hash("x/data.json", b'{"a":[1,"<b>"],"b":1.5}') != compact
    # Policies are hashed byte for byte.
    assert file_hash("p.rego", b"package p\n") != file_hash("p.rego", b"package p \n")


POLICY = "package shop\n\ndefault allow := false\n\nallow if input.amount <= data.shop.limit\n"


def signed_bundle(root: Path, private: str, **options: object) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "policy.rego").write_text(POLICY)
    (root / "shop" / "data.json").write_text('{"limit": 100}')
    (root / ".manifest").write_text('{"revision": "r-7", "roots": ["shop"]}')
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    (root / SIGNATURES).write_bytes(sign(files, key=private, algorithm="ES256", **options))  # type: ignore[arg-type]
    return root


def test_a_signed_bundle_decides_and_its_decisions_name_the_key(tmp_path: Path) -> None:
    private, public = es256_key_pair()
    root = signed_bundle(tmp_path / "b", private, key_id="compliance-2026")
    config = BundleVerification({"compliance-2026": VerificationKey(public, "ES256")})
    engine = EmbeddedEngine(root, verification=config)
    decision = engine.evaluate("shop", {"amount": 10})
    assert decision.allow
    assert (decision.bundle_revision, decision.bundle_signing_key_id) == ("r-7", "compliance-2026")
    unverified = EmbeddedEngine(root).evaluate("shop", {"amount": 10})
    assert unverified.bundle_signing_key_id is None
    assert unverified.bundle_revision == "r-7", "the signature does not change the revision"


def refusal(root: Path, config: BundleVerification) -> str:
    with pytest.raises(agento.BundleError) as raised:
        EmbeddedEngine(root, verification=config)
    return str(raised.value)


def test_every_way_a_bundle_can_fail_its_signature_is_refused_with_the_file(
    tmp_path: Path,
) -> None:
    private, public = es256_key_pair()
    config = BundleVerification({"ci": VerificationKey(public, "ES256")})
    pristine = signed_bundle(tmp_path / "pristine", private, key_id="ci")

    def variant(name: str) -> Path:
        return Path(shutil.copytree(pristine, tmp_path / name))

    altered = variant("altered")
    (altered / "shop" / "policy.rego").write_text(POLICY.replace("<=", "<"))
    assert "shop/policy.rego:1:1: digest mismatch" in refusal(altered, config)

    extra = variant("extra")
    (extra / "shop" / "backdoor.rego").write_text("package shop\n\nallow if input.vip\n")
    assert "shop/backdoor.rego:1:1: not included in the bundle's signature" in refusal(
        extra, config
    )

    missing = variant("missing")
    (missing / "shop" / "data.json").unlink()
    assert "shop/data.json:1:1: listed in the signature but not in the bundle" in refusal(
        missing, config
    )

    reformatted = variant("reformatted")
    (reformatted / "shop" / "data.json").write_text('{\n  "limit": 100\n}\n')
    assert EmbeddedEngine(reformatted, verification=config).bundle.signing_key_id == "ci"

    raised_limit = variant("raised")
    (raised_limit / "shop" / "data.json").write_text('{"limit": 100000}')
    assert "shop/data.json:1:1: digest mismatch" in refusal(raised_limit, config)

    other_private, _ = es256_key_pair()
    forged = signed_bundle(tmp_path / "forged", other_private, key_id="ci")
    assert "does not verify with key 'ci'" in refusal(forged, config)

    assert "signed with key 'ci', which is not configured (ops)" in refusal(
        pristine, BundleVerification({"ops": VerificationKey(public, "ES256")})
    )
    scoped = signed_bundle(tmp_path / "scoped", private, key_id="ci", claims={"scope": "write"})
    assert "scope mismatch: signed for 'write', configured ''" in refusal(scoped, config)
    excluded = variant("excluded")
    (excluded / "shop" / "notes.rego").write_text("package shop\n\nnote := 1\n")
    lenient = BundleVerification(config.keys, exclude_files=("shop/notes.rego",))
    assert EmbeddedEngine(excluded, verification=lenient).bundle.signing_key_id == "ci"


def test_verification_configured_without_a_key_id_still_requires_a_signature(
    tmp_path: Path,
) -> None:
    # OPA's GHSA-g2pf-6v5v-qcc8: a config without a key id accepted unsigned bundles.
    _, public = es256_key_pair()
    root = tmp_path / "unsigned"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "policy.rego").write_text(POLICY)
    for config in (
        BundleVerification({"ci": VerificationKey(public, "ES256")}),
        BundleVerification({}),
        BundleVerification({}, scope="write"),
    ):
        assert ".signatures.json:1:1: missing: verification is configured" in refusal(root, config)


def test_the_audit_shows_the_signing_key(tmp_path: Path) -> None:
    private, public = es256_key_pair()
    root = signed_bundle(tmp_path / "b", private, key_id="ci")
    engine = EmbeddedEngine(
        root, verification=BundleVerification({"ci": VerificationKey(public, "ES256")})
    )
    decision = engine.evaluate("shop", {"amount": 10})
    entry = DecisionRecorded(event_id=5, time=decision.evaluated_at, step_id="s", decision=decision)
    report = AuditReport(workflow_id="w", workflow_type="Shop", entries=[entry])
    assert "revision r-7 signed by ci decision" in render(report)


def test_sign_and_check_from_the_command_line(tmp_path: Path) -> None:
    private, public = es256_key_pair()
    (tmp_path / "signing.pem").write_text(private)
    (tmp_path / "verify.pem").write_text(public)
    root = signed_bundle(tmp_path / "b", private)  # then re-signed by the command
    run = agento_cli(
        "policy",
        "sign",
        str(root),
        "--signing-key",
        str(tmp_path / "signing.pem"),
        "--signing-alg",
        "ES256",
        "--key-id",
        "ci",
    )
    assert run.returncode == 0, run.stderr
    check = ["policy", "check", str(root), "--verification-key", str(tmp_path / "verify.pem")]
    run = agento_cli(*check, "--verification-alg", "ES256", "--verification-key-id", "ci")
    assert run.returncode == 0, run.stderr
    assert "signed    verified with key ci" in run.stdout
    (root / "shop" / "policy.rego").write_text(POLICY + "\nallow if input.vip\n")
    run = agento_cli(*check, "--verification-alg", "ES256", "--verification-key-id", "ci")
    assert run.returncode == 2
    assert "shop/policy.rego:1:1: digest mismatch" in run.stderr


def test_the_commissioning_bundle_ships_signed() -> None:
    root = Path(__file__).parents[2] / "examples" / "commissioning"
    public = (root / "keys" / "compliance-demo.pub.pem").read_text()
    config = BundleVerification({"compliance-demo": VerificationKey(public, "ES256")})
    try:
        engine = EmbeddedEngine(root / "policy", verification=config)
    except agento.BundleError as e:
        raise AssertionError(
            f"{e}\nThe policy changed without a new signature: run `agento policy sign "
            "examples/commissioning/policy --signing-key "
            "examples/commissioning/keys/compliance-demo.pem --signing-alg ES256 "
            "--key-id compliance-demo`"
        ) from None
    assert engine.bundle.signing_key_id == "compliance-demo"


def test_build_packs_a_bundle_that_loads_and_verifies_the_same(tmp_path: Path) -> None:
    private, public = es256_key_pair()
    root = signed_bundle(tmp_path / "b", private, key_id="ci")
    packed = tmp_path / "b.tar.gz"
    run = agento_cli("policy", "build", str(root), "-o", str(packed))
    assert run.returncode == 0, run.stderr
    config = BundleVerification({"ci": VerificationKey(public, "ES256")})
    assert EmbeddedEngine(packed, verification=config).bundle.revision == "r-7"
    again = tmp_path / "again.tar.gz"
    agento_cli("policy", "build", str(root), "-o", str(again))
    assert packed.read_bytes() == again.read_bytes(), "the same files make the same bytes"
    run = agento_cli("policy", "build", str(root), "-o", str(again), "--revision", "r-8")
    assert run.returncode == 2
    assert "sign again" in run.stderr
    (root / SIGNATURES).unlink()
    run = agento_cli("policy", "build", str(root), "-o", str(again), "--revision", "r-8")
    assert run.returncode == 0, run.stderr
    repacked = agento.PolicyBundle.load(again)
    assert (repacked.revision, repacked.roots) == ("r-8", ("shop",)), "the manifest's roots stay"
