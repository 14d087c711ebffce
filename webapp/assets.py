"""Stylesheets and scripts served compressed and cached forever under a content-hashed name.

Read once at start-up, so a phone on a slow line downloads each file once, in a few
kilobytes, and a new deployment changes the address whenever the file changes. Stylesheets
are minified too; the one small script (the print button) is served as written.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request

STATIC = Path(__file__).parent / "static"
MIMETYPES = {"css": "text/css", "js": "text/javascript"}
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    name: str
    digest: str
    body: bytes
    compressed: bytes

    @property
    def filename(self) -> str:
        stem, _, suffix = self.name.rpartition(".")
        return f"{stem}-{self.digest}.{suffix}"


def minify_css(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*([{};,>])\s*", r"\1", text)
    text = re.sub(r":\s+", ":", text)
    return text.replace(";}", "}").strip()


def load_assets() -> dict[str, Asset]:
    assets = {}
    for path in sorted([*STATIC.glob("css/*.css"), *STATIC.glob("js/*.js")]):
        text = path.read_text("utf-8")
        body = (minify_css(text) if path.suffix == ".css" else text).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()[:12]
        assets[path.name] = Asset(path.name, digest, body, gzip.compress(body, 9, mtime=0))
    return assets


def register_assets(app: Flask) -> None:
    assets = load_assets()
    by_filename = {asset.filename: asset for asset in assets.values()}
    app.extensions["assets"] = assets

    @app.template_global()
    def asset_url(name: str) -> str:
        return f"/assets/{assets[name].filename}"

    def asset(filename: str) -> Response:
        found = by_filename.get(filename)
        if found is None:
            abort(404)
        compressed = "gzip" in request.headers.get("Accept-Encoding", "")
        mimetype = MIMETYPES[found.name.rpartition(".")[2]]
        response = Response(found.compressed if compressed else found.body, mimetype=mimetype)
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        response.set_etag(found.digest)
        return response.make_conditional(request)

    app.add_url_rule("/assets/<filename>", endpoint="asset", view_func=asset)
