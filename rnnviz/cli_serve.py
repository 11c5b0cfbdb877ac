"""``rnnviz serve CKPT``: a trained model as an HTTP API (see ``rnnviz.serve``).

The server's libraries (FastAPI, uvicorn) are the optional ``serve`` extra: they are imported only
when the command runs, so the rest of the command line works without them, and without them this
command says how to install them.
"""

from __future__ import annotations

SERVE_LIBRARIES = ("fastapi", "uvicorn", "pydantic", "starlette")
INSTALL = 'pip install "rnnviz[serve]"'


def add_serve_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a trained model over HTTP (generate text, predict the next token or the class)",
        description="Serve a checkpoint as an HTTP API: GET /health, /model/info, /stats; POST /generate, "
        "/generate/stream (server-sent events), /predict. Interactive documentation at /docs. Ctrl-C stops it. "
        f"Needs the serve extra: {INSTALL}.",
    )
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by 'rnnviz train' or the app")
    p.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every network interface)",
    )  # fmt: skip
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port, printed at start)")
    p.add_argument("--access-log", action="store_true", help="print one line per request")


def run_serve(args) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, not {args.port}")
    try:
        from rnnviz.serve.server import serve
    except ImportError as e:
        if (e.name or "").split(".")[0] not in SERVE_LIBRARIES:
            raise
        raise ValueError(f"rnnviz serve needs FastAPI and uvicorn ({e.name} is not installed): {INSTALL}") from e
    from rnnviz.serve.model import ServedModel
    from rnnviz.training import load_model

    serve(ServedModel(load_model(args.checkpoint)), args.host, args.port, access_log=args.access_log)
    return 0
