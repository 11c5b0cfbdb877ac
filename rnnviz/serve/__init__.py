"""``rnnviz serve CHECKPOINT``: a trained model as an HTTP API (FastAPI on uvicorn).

    schemas.py   the requests and responses (pydantic), with the limits a request must keep to
    model.py     ServedModel: the checkpoint, loaded once, read by every request and changed by none
    errors.py    refusals in words a person understands (422), and the request-size limit (413)
    app.py       the FastAPI app: /health, /model/info, /stats, /generate, /generate/stream, /predict
    server.py    a loopback socket, uvicorn on it, and a clean stop on Ctrl-C or SIGTERM

Only this package imports FastAPI, uvicorn or pydantic (tests/test_boundaries.py): they are the
optional ``serve`` extra, and the app, the engine and the rest of the command line never need them.
Importing this package itself imports none of them.
"""
