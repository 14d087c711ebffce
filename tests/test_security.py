"""Security headers and cookies on every audited page, no open redirect through any URL of the
app, and request bodies over the limit refused."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from flask import url_for

from audit_pages import CSRF, NEXT_FLOWS, URL_ARGUMENTS, fetch, make_audit_app, own_script, pages_to_audit

# Parameter names that sites commonly follow after a sign-in or a form; none may lead away.
NEXT_PARAMETERS = ("next", "return_to", "redirect", "redirect_to", "url", "continue", "came_from",
                   "back", "goto")
HOSTILE_TARGETS = (
    "https://evil.example/", "//evil.example/", "///evil.example/", "/\\evil.example/",
    "\\\\evil.example/", "https:evil.example", "javascript:alert(1)", " //evil.example/",
    "/\t/evil.example/", "http://localhost@evil.example/", "%2F%2Fevil.example", "/%5Cevil.example",
)


@pytest.fixture(scope="module")
def audit_app(tmp_path_factory):
    return make_audit_app(tmp_path_factory.mktemp("security"))


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def check_headers(response, https: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    csp = csp_directives(response.headers.get("Content-Security-Policy", ""))
    if csp.get("default-src") != ["'self'"]:
        problems.append(f"default-src {csp.get('default-src')}")
    for directive in ("script-src", "style-src"):
        if csp.get(directive, ["'self'"]) != ["'self'"]:
            problems.append(f"{directive} {csp[directive]}")  # never unsafe-inline or a host
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    expected = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    for name, value in expected.items():
        if response.headers.get(name) != value:
            problems.append(f"{name}: {response.headers.get(name)}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append("Permissions-Policy")
    hsts = response.headers.get("Strict-Transport-Security")
    if https and not (hsts and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000):
        problems.append(f"HSTS over HTTPS: {hsts}")
    if not https and hsts:
        problems.append("HSTS over plain HTTP")
    for cookie in response.headers.getlist("Set-Cookie"):
        flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")[1:]}
        if "max-age=0" in cookie.lower() or "expires=thu, 01 jan 1970" in cookie.lower():
            continue  # a cookie being removed carries nothing
        if not {"httponly", "path"} <= flags or "samesite=lax" not in cookie.lower():
            problems.append(f"cookie flags: {cookie.split('=')[0]}")
        if https and "secure" not in flags:
            problems.append(f"cookie not Secure over HTTPS: {cookie.split('=')[0]}")
        if "expires" in flags or "max-age" in flags:
            problems.append(f"cookie outlives the browser session: {cookie.split('=')[0]}")
    return problems


class InlineCode(HTMLParser):
    """Finds script elements, style elements and attributes, and event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        # A script from the app's own asset address is not inline; one with a body would be.
        if tag == "style" or (tag == "script" and not own_script(tag, attrs)):
            self.found.append(f"<{tag}>")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{tag} {name}=")


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_page_sends_the_security_headers_and_no_inline_code(audit_app, https):
    base_url = "https://localhost" if https else "http://localhost"
    problems = {}
    pages = pages_to_audit(audit_app)
    for page in pages:
        response = fetch(audit_app.test_client(), page, base_url=base_url)
        parser = InlineCode()
        parser.feed(response.get_data(as_text=True))
        found = check_headers(response, https) + parser.found
        if found:
            problems[page.name] = found
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"',
                           audit_app.test_client().get("/en/").get_data(as_text=True)).group(1)
    others = {"stylesheet": stylesheet, "413": None, "405": "/en/clear", "root": "/"}
    for name, path in others.items():
        client = audit_app.test_client()
        if path is None:
            response = client.post("/en/questions/age", data={"answer": "x" * 70_000}, base_url=base_url)
        else:
            response = client.get(path, base_url=base_url)
        found = check_headers(response, https)
        if found:
            problems[name] = found
    assert problems == {}
    assert len(pages) > 100


def test_csp_allows_nothing_inline(audit_app):
    header = audit_app.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header
    assert csp_directives(header)["object-src"] == ["'none'"]
    assert csp_directives(header)["base-uri"] == ["'none'"]


def lands_on_this_site(location: str) -> bool:
    # Browsers drop tabs and line breaks from addresses and read "\" as "/".
    cleaned = re.sub(r"[\t\r\n]", "", location).strip().replace("\\", "/")
    if cleaned.startswith("//"):
        return False
    parts = urlsplit(cleaned)
    if parts.scheme and not parts.netloc:
        return False  # "https:evil.example" from an http page goes to evil.example
    return parts.scheme in ("", "http", "https") and parts.netloc in ("", "localhost")


def test_lands_on_this_site_knows_an_open_redirect():
    for target in HOSTILE_TARGETS[:-2]:
        assert not lands_on_this_site(target), target
    assert lands_on_this_site("/en/questions/age") and lands_on_this_site("http://localhost/en/")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value or "" for name, value in attrs if name in ("href", "action", "formaction")]


def sample_argument(name: str, converter) -> str:  # type: ignore[no-untyped-def]
    if name in URL_ARGUMENTS:
        return URL_ARGUMENTS[name]
    choices = getattr(converter, "items", None)  # <any(a, b):name>
    return sorted(choices)[0] if choices else "1"


def sample_urls(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(endpoint, method, path) for every rule of the URL map, with sample arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {name: sample_argument(name, rule._converters[name]) for name in rule.arguments}
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.endpoint, method, path))
    return found


def test_no_open_redirect_through_any_next_parameter(audit_app):
    checked = 0
    for endpoint, method, path in sample_urls(audit_app):
        client = audit_app.test_client()
        token = CSRF.search(client.get("/en/questions/conditions").get_data(as_text=True)).group(1)
        for target in HOSTILE_TARGETS:
            hostile = {name: target for name in NEXT_PARAMETERS}
            url = f"{path}?{urlencode(hostile)}"
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token, **hostile})
            assert response.status_code < 500, (endpoint, method, target)
            location = response.headers.get("Location")
            assert location is None or lands_on_this_site(location), (endpoint, method, target, location)
            links = Links()
            links.feed(response.get_data(as_text=True))
            assert all(lands_on_this_site(t) or t.startswith(("https://", "mailto:")) and "evil" not in t
                       for t in links.targets), (endpoint, method, target)
            checked += 1
    assert checked >= len(HOSTILE_TARGETS) * 10


def test_flows_that_follow_next_stay_on_this_site(audit_app):
    # Flows that honour `next` after a step (staff sign-in, say) register in NEXT_FLOWS.
    for flow in NEXT_FLOWS:
        for target in HOSTILE_TARGETS:
            response = flow(audit_app, audit_app.test_client(), target)
            location = response.headers.get("Location")
            assert location is None or lands_on_this_site(location), (flow.__name__, target, location)


def test_bodies_over_the_limit_are_refused_everywhere(audit_app):
    # The largest limit any part of the app sets, plus one byte.
    limits = [v for k, v in audit_app.config.items() if k.endswith("MAX_CONTENT_LENGTH") and isinstance(v, int)]
    too_big = max(limits) + 1
    posts = [(endpoint, path) for endpoint, method, path in sample_urls(audit_app) if method == "POST"]
    assert posts
    for endpoint, path in posts:
        client = audit_app.test_client()
        response = client.post(path, data={"answer": "x" * too_big})
        assert 300 <= response.status_code < 500, (endpoint, response.status_code)
        if endpoint.startswith("screener."):
            assert response.status_code == 413, endpoint
            assert "Traceback" not in response.get_data(as_text=True)
    # The patient limit itself, just over.
    response = audit_app.test_client().post(
        "/en/questions/age", data={"answer": "x" * (audit_app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert response.status_code == 413
