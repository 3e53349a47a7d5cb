"""The review service: an approval webhook (JSON API) and engineers' pages, which authenticate
reviewers and sign every resolution they send.

Mount `review_app` in an ASGI stack, or run it with ``agento review serve``. It needs the
``service`` extra: ``pip install 'agento[service]'`` (Starlette and uvicorn).
"""

from agento.review._app import review_app
from agento.review._auth import (
    Authenticator,
    DevUserAuth,
    JwtAuth,
    ProxyHeaderAuth,
    Unauthenticated,
)

__all__ = [
    "Authenticator",
    "DevUserAuth",
    "JwtAuth",
    "ProxyHeaderAuth",
    "Unauthenticated",
    "review_app",
]
