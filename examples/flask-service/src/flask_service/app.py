"""The WSGI application: gunicorn serves flask_service.app:app."""

import os
from importlib import metadata

from flask import Flask, jsonify
from kiln_demo_ext import fnv1a

app = Flask(__name__)


def _version():
    # The project's dist-info is only present when installed (as kiln does);
    # running from a source checkout still works.
    try:
        return metadata.version("flask-service")
    except metadata.PackageNotFoundError:
        return "unknown"


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/")
def index():
    return jsonify(
        service="flask-service",
        version=_version(),
        greeting=os.environ.get("FLASK_SERVICE_GREETING", "hello"),
        fnv1a=fnv1a(b"kiln"),
    )


@app.get("/hash/<text>")
def hash_text(text):
    return jsonify(text=text, fnv1a=fnv1a(text.encode()))
