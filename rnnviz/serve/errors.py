"""Refusals a person understands: every 422 says which field is wrong and why, in one sentence.

FastAPI's own 422 is a list of pydantic error records ("Input should be greater than or equal to 0"
at ``["body", "temperature"]``) and, for a NaN, cannot even be rendered (NaN is not JSON). Here each
record becomes ``{"field", "message"}`` and the response's ``detail`` joins the messages:

    {"detail": "temperature must be at least 0, not -1", "errors": [{"field": "temperature", ...}]}

The limits themselves are declared once, on the fields (``schemas``); the words come from there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rnnviz.serve.model import RequestProblem

# The largest request body read: ten times what the longest seed text can take as JSON (10,000
# characters, up to 12 bytes each escaped), so no valid request comes near it; a larger body is
# refused (413) before it is held in memory whole.
MAX_BODY_BYTES = 1_200_000


def message(error: dict[str, Any]) -> tuple[str, str]:
    """``(field, message)`` for one pydantic / FastAPI validation error record."""
    loc = tuple(error.get("loc", ()))
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    if kind == "json_invalid":  # loc is ("body", character position)
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return "body", f"the request body is not valid JSON: {ctx.get('error', 'it cannot be parsed')}{at}"
    field = ".".join(str(p) for p in (loc[1:] if loc[:1] == ("body",) else loc))
    if not field:
        if kind == "missing":
            return "body", "the request needs a JSON object as its body"
        return "body", "the request body must be a JSON object, sent with the header Content-Type: application/json"
    if kind == "missing":
        return field, f"{field} is required"
    if kind == "extra_forbidden":
        return field, f"{field} is not a field of this request (see /docs for the fields)"
    bounds = {
        "greater_than_equal": ("at least", "ge"), "greater_than": ("above", "gt"),
        "less_than_equal": ("at most", "le"), "less_than": ("below", "lt"),
    }  # fmt: skip
    if kind in bounds:
        words, key = bounds[kind]
        return field, f"{field} must be {words} {_number(ctx.get(key))}, not {_shown(value)}"
    if kind == "finite_number":
        return field, f"{field} must be a finite number, not {_shown(value)}"
    if kind == "string_too_short":
        return field, f"{field} must not be empty"
    if kind == "string_too_long":
        length = f" ({len(value):,})" if isinstance(value, str) else ""
        return field, f"{field} is too long{length}: at most {_number(ctx.get('max_length'))} characters"
    # pydantic's own words for the rest ("Input should be a valid integer, got a number with a fractional part")
    return field, f"{field}: {error.get('msg', 'invalid value')}"


def _number(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:,}" if isinstance(v, int) else str(v)


def _shown(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def problem_response(problems: list[tuple[str, str]], status: int = 422) -> JSONResponse:
    return JSONResponse(
        {"detail": "; ".join(m for _, m in problems), "errors": [{"field": f, "message": m} for f, m in problems]},
        status_code=status,
    )


async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    return problem_response([message(e) for e in exc.errors()])


async def request_problem(request: Request, exc: RequestProblem) -> JSONResponse:
    return problem_response([(exc.field, str(exc))])


class BodyLimit:
    """Refuse a request body above ``max_bytes`` with 413, whether it announces its length or not
    (chunked bodies are counted as they arrive). A plain ASGI middleware."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than {self.max_bytes:,} bytes"
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response([("body", too_large)], 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:  # raised inside the body read: answered 413 by the app
                    raise HTTPException(413, too_large)
            return msg

        await self.app(scope, counted, send)
