"""What every ``agento`` command shares: the exit statuses, the one-line refusal, and a
connection to Temporal made the way the ``temporal`` CLI makes it: an environment-config profile
(TOML file and ``TEMPORAL_*`` variables), overridden by ``--address``, ``--namespace``,
``--api-key``, ``--tls``."""

from __future__ import annotations

import argparse
import enum
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Each command imports what it runs on when it runs (`agento --help` stays fast).
if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.service import TLSConfig

    from agento._policy.signing import VerificationKey


class CommandError(Exception):
    """Reported on one line; exit status 2."""


class Exit(enum.IntEnum):
    """The exit statuses of every ``agento`` command (docs/cli.md)."""

    OK = 0
    FINDING = 1
    """The command worked and found something: rule violations, a replay difference."""
    ERROR = 2
    """It could not do its work: bad usage or input, a refusal, Temporal unreachable."""


def connection_parser() -> argparse.ArgumentParser:
    """The connection options every command that talks to Temporal takes, as the temporal CLI."""
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection (as the temporal CLI)")
    group.add_argument("--address", help="host:port (default: the profile's, else localhost:7233)")
    group.add_argument("--namespace", help="namespace (default: the profile's, else default)")
    group.add_argument("--api-key", help="API key (Temporal Cloud)")
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument("--tls-cert-path", metavar="FILE", help="client certificate (mTLS)")
    group.add_argument("--tls-key-path", metavar="FILE", help="client private key (mTLS)")
    group.add_argument("--tls-ca-path", metavar="FILE", help="server CA certificate")
    group.add_argument("--tls-server-name", metavar="NAME", help="server name to verify")
    group.add_argument("--profile", help="environment-config profile to start from")
    return connection


def tls_config(args: argparse.Namespace) -> TLSConfig | bool:
    """``--tls`` alone, or a TLSConfig from the certificate and key files given."""
    from temporalio.service import TLSConfig

    files = {
        "client_cert": args.tls_cert_path,
        "client_private_key": args.tls_key_path,
        "server_root_ca_cert": args.tls_ca_path,
    }
    if not any(files.values()) and not args.tls_server_name:
        return bool(args.tls)
    if bool(args.tls_cert_path) != bool(args.tls_key_path):
        raise CommandError("mTLS needs both --tls-cert-path and --tls-key-path")
    contents: dict[str, bytes | None] = {}
    for field, path in files.items():
        try:
            contents[field] = Path(path).read_bytes() if path else None
        except OSError as e:
            raise CommandError(f"cannot read {path}: {e.strerror or e}") from e
    return TLSConfig(
        client_cert=contents["client_cert"],
        client_private_key=contents["client_private_key"],
        server_root_ca_cert=contents["server_root_ca_cert"],
        domain=args.tls_server_name,
    )


def run_connected(command: Coroutine[Any, Any, int]) -> int:
    """Run a command that talks to Temporal; its refusals and connection failures become one
    line (`CommandError`)."""
    import asyncio

    from temporalio.service import RPCError

    try:
        return asyncio.run(command)
    except RPCError as e:
        raise CommandError(f"Temporal refused: {e.message}") from e
    except RuntimeError as e:  # temporalio's connection failures
        raise CommandError(str(e).splitlines()[0]) from e


def read_review_keys(specs: list[str]) -> dict[str, VerificationKey]:
    from agento._policy.signing import VerificationKey

    if not specs:
        raise CommandError("--verify needs the public keys to check with: --review-key ID=FILE")
    keys = {}
    for spec in specs:
        key_id, _, path = spec.partition("=")
        if not key_id or not path:
            raise CommandError(f"--review-key {spec!r} is not KEY_ID=FILE")
        try:
            keys[key_id] = VerificationKey.from_pem(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise CommandError(f"cannot read review key {key_id} from {path}: {e}") from e
    return keys


async def connect(args: argparse.Namespace) -> Client:
    import asyncio

    from temporalio.client import Client
    from temporalio.envconfig import ClientConfig

    from agento._worker.plugin import AgentoPlugin

    try:
        config = ClientConfig.load_client_connect_config(profile=args.profile)
    except Exception as e:  # a malformed profile file, for instance
        raise CommandError(f"cannot load the connection profile: {e}") from e
    if args.address:
        config["target_host"] = args.address
    config.setdefault("target_host", "localhost:7233")
    if args.namespace:
        config["namespace"] = args.namespace
    if args.api_key:
        config["api_key"] = args.api_key
    if tls := tls_config(args):
        config["tls"] = tls
    try:
        return await asyncio.wait_for(Client.connect(**config, plugins=[AgentoPlugin()]), 15)
    except (RuntimeError, TimeoutError) as e:
        message = str(e).splitlines()[0] if str(e) else "timed out"
        raise CommandError(
            f"cannot connect to Temporal at {config['target_host']}: {message}"
        ) from e
