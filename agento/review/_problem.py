"""A refusal with its HTTP status, answered the same for the API (JSON) and the pages (HTML)."""

from __future__ import annotations

from starlette.responses import JSONResponse


class Problem(Exception):
    """A refusal with its HTTP status, the same for the API (JSON) and the pages (HTML)."""

    def __init__(self, status: int, kind: str, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.reasons = status, kind, message, reasons

    def json(self) -> JSONResponse:
        body = {"error": self.kind, "message": self.message, "reasons": list(self.reasons)}
        return JSONResponse(body, status_code=self.status, headers=self.headers())

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}
