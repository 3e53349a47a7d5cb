"""``agento review serve``: the review service (`agento.review.review_app`) under uvicorn."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agento._cli.common import CommandError, Exit, connect, run_connected

if TYPE_CHECKING:
    from agento._reviews.resolution import ResolutionSigner
    from agento.review import Authenticator


def add_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--signing-key",
        required=True,
        metavar="FILE",
        help="PEM private key resolutions are signed with (make one with `agento review "
        "keygen`); workers trust its public half (AgentoPlugin(review_keys=...))",
    )
    serve.add_argument("--key-id", metavar="ID", help="its key id (default: the file's stem)")
    serve.add_argument("--query", default="", help="a visibility filter on the runs listed")
    serve.add_argument(
        "--wait", type=float, default=30.0, metavar="SECONDS", help="how long to wait for a worker"
    )
    who = serve.add_argument_group("who is asking (choose one)")
    who.add_argument("--jwks", metavar="FILE|URL", help="verify OIDC bearer tokens with this JWKS")
    who.add_argument("--issuer", help="the tokens' required iss")
    who.add_argument("--audience", help="the tokens' required aud")
    who.add_argument(
        "--proxy-header",
        metavar="HEADER",
        help="take the reviewer from this header of an authenticating proxy "
        "(X-Forwarded-User); --trusted-proxy says from where",
    )
    who.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an address or network the proxy connects from (repeatable)",
    )
    who.add_argument(
        "--dev-user",
        metavar="NAME",
        help="DEVELOPMENT ONLY: every visitor is NAME, unauthenticated",
    )
    who.add_argument(
        "--dev-groups", default="", metavar="A,B", help="the development user's groups"
    )


def read_signer(path: str, key_id: str | None) -> ResolutionSigner:
    """The ``--signing-key`` signer, or a `CommandError` naming the file and what is wrong."""
    from agento._reviews.resolution import ResolutionSigner

    try:
        return ResolutionSigner.from_file(path, key_id=key_id)
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot read --signing-key {path}: {e}") from e


def run(args: argparse.Namespace) -> int:
    return run_connected(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from agento.review import review_app
    except ImportError as e:
        raise CommandError(
            f"the review service needs the service extra ({e.name} is missing): "
            "pip install 'agento[service]'"
        ) from e
    auth = _authenticator(args)
    signer = read_signer(args.signing_key, args.key_id)
    client = await connect(args)
    app = review_app(client, auth=auth, signer=signer, query=args.query, wait_seconds=args.wait)
    print(
        f"agento review service on http://{args.host}:{args.port}/ (signing as key "
        f"{signer.key_id}; API description at /api/openapi.json)",
        file=sys.stderr,
    )
    # The service decides whom to believe from the TCP peer (ProxyHeaderAuth): uvicorn must not
    # rewrite the peer from X-Forwarded-For, which its defaults do for requests from loopback.
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=False,
        forwarded_allow_ips="",
    )
    server = uvicorn.Server(config)
    await server.serve()
    return Exit.OK


def _authenticator(args: argparse.Namespace) -> Authenticator:
    from agento.review import DevUserAuth, JwtAuth, ProxyHeaderAuth

    chosen = [a for a in (args.jwks, args.proxy_header, args.dev_user) if a]
    if len(chosen) != 1:
        raise CommandError(
            "say how reviewers are authenticated, once: --jwks (with --issuer and --audience), "
            "--proxy-header (with --trusted-proxy), or --dev-user for a demo"
        )
    if args.jwks:
        if not (args.issuer and args.audience):
            raise CommandError("--jwks needs --issuer and --audience: both are checked")
        try:
            return JwtAuth(args.jwks, issuer=args.issuer, audience=args.audience)
        except ValueError as e:
            raise CommandError(str(e)) from e
    if args.proxy_header:
        if not args.trusted_proxy:
            raise CommandError(
                "--proxy-header needs --trusted-proxy: a header from anyone else proves nothing"
            )
        try:
            return ProxyHeaderAuth(args.trusted_proxy, user_header=args.proxy_header)
        except ValueError as e:
            raise CommandError(f"--trusted-proxy: {e}") from e
    groups = [g.strip() for g in args.dev_groups.split(",") if g.strip()]
    return DevUserAuth(args.dev_user, groups)
