"""WCAG 2.2 AA in Debian's Chromium: axe-core on every audited page in every language, reflow
at 320 CSS px and at 200% zoom, a skip link, the error summary taking focus, labels and
legends on every question, and a whole questionnaire done with the keyboard alone.

axe is injected into a browser context made with bypass_csp=True; the app's own CSP stays
strict. `make test` installs axe-core with npm into node_modules/.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from audit_pages import AuditPage, make_audit_app, month_ago, pages_to_audit
from browser import ARTIFACTS, live_server

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices (landmarks, headings).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                          "best-practice"]},
    "resultTypes": ["violations"],
}
NARROW = {"width": 320, "height": 640}
# 200% zoom of a 1280 x 800 window lays the page out 640 CSS px wide.
ZOOMED = {"width": 640, "height": 400}
# A few pages saved as screenshots for a person to look at.
SCREENSHOTS = {"en-question-conditions-error", "ar-results-fit", "zh-learn-risks-and-limits",
               "es-check", "en-results-under-18", "ar-question-type1_diagnosed-error"}

# Elements wider than the screen, or starting before it, other than those hidden on purpose.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const element of document.querySelectorAll('body *')) {
    if (element.closest('.skip-link, .visually-hidden')) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) {
      found.push(element.tagName.toLowerCase() + (element.className ? '.' + element.className : '')
                 + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth > width, elements: found.slice(0, 5)};
}"""

# Every input of any other form has a label.
LABELLED = """() => [...document.querySelectorAll('main form input:not([type=hidden]), main form select, main form textarea')]
  .filter(input => !input.labels || input.labels.length === 0).map(input => 'no label: ' + input.id)"""

# Every input on a question page has a label, and grouped inputs sit in a fieldset with a legend.
FORM_STRUCTURE = """() => {
  const problems = [];
  for (const input of document.querySelectorAll('main form input:not([type=hidden]), main form select')) {
    if (!input.labels || input.labels.length === 0) problems.push('no label: ' + input.id);
    if (['radio', 'checkbox'].includes(input.type) || input.tagName === 'SELECT') {
      const legend = input.closest('fieldset')?.querySelector(':scope > legend');
      if (!legend || !legend.textContent.trim()) problems.push('no fieldset legend: ' + input.id);
    }
  }
  const heading = document.querySelector('main h1');
  if (!heading || !(heading.closest('legend') || heading.querySelector('label'))) {
    problems.push('the question is neither the legend nor the label');
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    app = make_audit_app(tmp_path_factory.mktemp("accessibility"))
    with live_server(app) as base_url:
        yield app, base_url


def summary_takes_focus(tab) -> None:  # type: ignore[no-untyped-def]
    # Browsers apply autofocus at the next rendering step, just after the page has loaded.
    tab.wait_for_function("document.activeElement.classList.contains('error-summary')", timeout=3000)


def show(app, base_url: str, tab, page: AuditPage) -> None:  # type: ignore[no-untyped-def]
    """Show the page in the tab, in the state its `prepare` sets up (the session cookie)."""
    client = app.test_client()
    if page.prepare:
        page.prepare(client)
    tab.context.clear_cookies()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is not None:
        tab.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    response = tab.goto(base_url + page.path)
    if page.submit_empty:
        with tab.expect_navigation():
            tab.locator("main form button[type=submit]").last.click()
        assert tab.url == base_url + page.path
    else:
        assert response.status == page.status, (page.name, response.status)


def new_tab(browser, **options):  # type: ignore[no-untyped-def]
    # One tab for many pages: Chromium then compiles the injected axe script once.
    context = browser.new_context(bypass_csp=True, **options)
    context.add_init_script(path=str(AXE))
    return context.new_page()


def test_every_page_passes_axe_and_reflows(audit, browser):
    app, base_url = audit
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}); run `make test` to install it")
    ARTIFACTS.mkdir(exist_ok=True)
    pages = pages_to_audit(app)
    problems: dict[str, list[str]] = {}
    tab = new_tab(browser, viewport=NARROW)
    for page in pages:
        tab.set_viewport_size(NARROW)
        show(app, base_url, tab, page)
        found: list[str] = []
        result = tab.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        for violation in result["violations"]:
            targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
            found.append(f"axe {violation['id']} ({violation['impact']}): {targets}")
        overflow = tab.evaluate(OVERFLOWING)
        if overflow["scroll"] or overflow["elements"]:
            found.append(f"at 320 px: {overflow}")
        if page.name in SCREENSHOTS:
            tab.screenshot(path=str(ARTIFACTS / f"narrow-{page.name}.png"), full_page=True)
        if page.submit_empty:
            try:
                summary_takes_focus(tab)
            except PlaywrightError:
                found.append("the error summary does not take focus")
        elif tab.locator(".skip-link").count():
            tab.keyboard.press("Tab")
            skip = tab.evaluate("""() => {
              const link = document.activeElement, box = link.getBoundingClientRect();
              return {first: link.classList.contains('skip-link'), visible: box.width > 0 &&
                      box.top >= 0 && box.left >= 0 && box.right <= innerWidth,
                      target: !!document.querySelector(link.getAttribute('href'))};
            }""")
            if skip != {"first": True, "visible": True, "target": True}:
                found.append(f"skip link: {skip}")
        if page.kind == "question":
            # The one-question-per-page pattern (patient questions, with and without errors).
            found += tab.evaluate(FORM_STRUCTURE)
        elif page.submit_empty:
            found += tab.evaluate(LABELLED)
        tab.set_viewport_size(ZOOMED)
        overflow = tab.evaluate(OVERFLOWING)
        if overflow["scroll"] or overflow["elements"]:
            found.append(f"at 200% zoom: {overflow}")
        if found:
            problems[page.name] = found
    tab.context.close()
    languages = sorted({page.lang for page in pages})
    print(f"\naxe-core: {len(pages)} pages ({len(pages) // len(languages)} per language x "
          f"{len(languages)} languages), {sum(map(len, problems.values()))} problems")
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)[:6000]


def test_zoomed_screenshots(audit, browser):
    # 200% zoom as a person sees it: device pixels doubled, 640 CSS px of layout.
    app, base_url = audit
    ARTIFACTS.mkdir(exist_ok=True)
    pages = {page.name: page for page in pages_to_audit(app)}
    for name in ("en-results-check", "ar-question-conditions-error", "es-start"):
        tab = new_tab(browser, viewport=ZOOMED, device_scale_factor=2)
        show(app, base_url, tab, pages[name])
        assert not tab.evaluate(OVERFLOWING)["scroll"], name
        tab.screenshot(path=str(ARTIFACTS / f"zoom200-{name}.png"), full_page=True)
        tab.context.close()


FOCUS_IS_VISIBLE = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return false;
  const style = getComputedStyle(element);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
         || style.boxShadow !== 'none';
}"""


def tab_to(tab, selector: str, limit: int = 40) -> None:
    """Press Tab until the selector has focus; every stop on the way shows where focus is."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement === document.body"):
            continue  # past the last element, focus leaves the page; the next Tab wraps round
        assert tab.evaluate(FOCUS_IS_VISIBLE), tab.evaluate("document.activeElement.outerHTML")
        if tab.evaluate("selector => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {tab.url}")


def press_and_wait(tab, key: str) -> None:
    with tab.expect_navigation():
        tab.keyboard.press(key)


def path_of(tab) -> str:
    # A fragment from the error summary's link stays on the address after the redirect.
    return urlsplit(tab.url).path


def checked(tab) -> list[str]:
    return tab.evaluate("[...document.querySelectorAll('main input:checked')].map(i => i.value)")


def test_whole_questionnaire_with_the_keyboard_only(audit, browser):
    """Tab, Space, arrow keys and Enter (and digits for numbers): no mouse, no script help."""
    app, base_url = audit
    month, year = (int(part) for part in reversed(month_ago(2).split("-")))
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    tab.goto(base_url + "/en/")

    # The skip link comes first, shows itself, and moves focus to the main content.
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.classList.contains('skip-link')")
    assert tab.evaluate(FOCUS_IS_VISIBLE)
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"
    tab_to(tab, "a.button-start")
    press_and_wait(tab, "Enter")

    # Continue with nothing chosen: the error summary takes focus, and its link leads to the field.
    assert path_of(tab).endswith("/en/questions/conditions")
    tab_to(tab, "main form button[type=submit]")
    press_and_wait(tab, "Enter")
    summary_takes_focus(tab)
    tab_to(tab, ".error-summary a")
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "answer"
    tab.keyboard.press("Space")  # type 1 diabetes
    tab_to(tab, "input[value=chronic_pancreatitis]")
    tab.keyboard.press("Space")
    assert checked(tab) == ["type1", "chronic_pancreatitis"]
    tab_to(tab, "main form button[type=submit]")
    press_and_wait(tab, "Enter")

    assert path_of(tab).endswith("/questions/age")
    tab_to(tab, "#answer")
    tab.keyboard.type("27")
    press_and_wait(tab, "Enter")

    assert path_of(tab).endswith("/questions/type1_diagnosed")
    tab_to(tab, "#month")
    for _ in range(month):
        tab.keyboard.press("ArrowDown")
    assert tab.evaluate("document.querySelector('#month').value") == str(month)
    tab_to(tab, "#year")
    tab.keyboard.type(str(year))
    press_and_wait(tab, "Enter")

    # Radio groups: Tab into the group, arrow keys move and choose, Space chooses the first.
    for question_id, arrows, value in [("type1_own_insulin", 0, "yes"),
                                       ("cp_pain_duration", 2, "over_6_months"),
                                       ("cp_dose_stable", 0, "yes"),
                                       ("cp_procedure_planned", 1, "no"),
                                       ("veteran", 1, "no")]:
        assert path_of(tab).endswith(f"/questions/{question_id}"), tab.url
        tab_to(tab, "input[name=answer]")
        if arrows == 0:
            tab.keyboard.press("Space")
        for _ in range(arrows):
            tab.keyboard.press("ArrowDown")
        assert checked(tab) == [value], question_id
        tab_to(tab, "main form button[type=submit]")
        press_and_wait(tab, "Enter")

    # Where the person lives: digits typed into the place field, Enter sends it.
    assert path_of(tab).endswith("/questions/location"), tab.url
    tab_to(tab, "#place")
    tab.keyboard.type("29425")
    press_and_wait(tab, "Enter")

    assert path_of(tab).endswith("/en/check")
    assert tab.locator(".summary-row").count() == 9
    tab_to(tab, "main a.button")
    press_and_wait(tab, "Enter")
    assert path_of(tab).endswith("/en/results")
    assert tab.locator("main h1").count() == 1 and tab.locator("[data-trial]").count() >= 1
    tab_to(tab, "button.button-warning")
    press_and_wait(tab, "Space")
    assert tab.get_by_text("Your answers have been cleared.").is_visible()
    context.close()
