"""Stylesheets: minified, compressed, cached under a content hash."""

from __future__ import annotations

import gzip
import re

from webapp.assets import minify_css


def stylesheet_url(client) -> str:
    html = client.get("/en/").get_data(as_text=True)
    return re.search(r'<link rel="stylesheet" href="(/assets/app-[0-9a-f]{12}\.css)">', html).group(1)


def test_stylesheet_is_minified_compressed_and_cached(client):
    url = stylesheet_url(client)
    plain = client.get(url)
    assert plain.status_code == 200 and plain.mimetype == "text/css"
    assert "immutable" in plain.headers["Cache-Control"] and "max-age=31536000" in plain.headers["Cache-Control"]
    assert b"/*" not in plain.data and b"\n" not in plain.data
    squeezed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(squeezed.data) == plain.data
    assert len(squeezed.data) < len(plain.data) / 2
    again = client.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/assets/app-000000000000.css").status_code == 404


def test_minify_keeps_rules():
    css = "/* note */\n.a { color: red ;\n  margin: 0 }\n@media (max-width: 40rem) { .b > .c { x: y; } }"
    assert minify_css(css) == ".a{color:red;margin:0}@media (max-width:40rem){.b>.c{x:y}}"
