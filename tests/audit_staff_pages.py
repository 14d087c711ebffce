"""The staff area's pages for the quality gates (axe, the Nu HTML Checker, headers, reflow).

Appended to audit_pages.PAGE_LISTS by conftest, so every gate that walks the patient pages
walks these too, signed in as an admin.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from sqlalchemy import select

from audit_pages import AuditPage
from webapp.catalog.models import CatalogCondition, CatalogFact, CatalogQuestion, EducationPage, Trial
from webapp.extensions import db
from webapp.sharing.models import ShareLink
from webapp.staff.auth import token_hash
from webapp.staff.models import StaffSession, StaffUser

AUDITOR = "auditor@clinic.example"
PASSWORD = "an auditor's long password"


def signed_in(user_id: int, generation: int, token: str):  # type: ignore[no-untyped-def]
    def prepare(client: Any) -> None:
        with client.session_transaction() as session:
            session["_user_id"] = f"{user_id}:{generation}"
            session["_fresh"] = True
            session["sid"] = token
    return prepare


def staff_pages(app: Flask) -> list[AuditPage]:
    # The browser gate replays the test client's cookie in Chromium, whose user agent differs:
    # strong session protection would (rightly) refuse it, so the audit app turns it off.
    app.config["SESSION_PROTECTION"] = None
    from webapp.staff.services import create_link, create_staff

    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == AUDITOR))
        if user is None:
            user = create_staff(None, AUDITOR, "admin", PASSWORD)
            create_link(user, "Flyer for the audit", "es", [])
        trial = db.session.scalar(select(Trial).order_by(Trial.position))
        criterion_id = trial.criteria[0].id
        page = db.session.scalar(select(EducationPage).order_by(EducationPage.position))
        link = db.session.scalar(select(ShareLink))
        question = db.session.scalar(select(CatalogQuestion).where(CatalogQuestion.key == "cp_pain_duration"))
        condition = db.session.scalar(select(CatalogCondition).order_by(CatalogCondition.position))
        fact = db.session.scalar(select(CatalogFact).where(CatalogFact.key == "hba1c"))
        # A server-side session row, as signing in makes one.
        token = secrets.token_urlsafe(32)
        db.session.add(StaffSession(token_hash=token_hash(token), staff_id=user.id))
        db.session.commit()
        ids = {"user": user.id, "generation": user.password_generation, "trial": trial.id,
               "criterion": criterion_id, "page": page.id, "link": link.id, "question": question.id,
               "condition": condition.id, "fact": fact.id}
    admin = signed_in(ids["user"], ids["generation"], token)
    pages = [
        AuditPage("staff login", "/staff/login", "en"),
        AuditPage("staff login errors", "/staff/login", "en", submit_empty=True, status=400),
    ]
    for name, path, extra in [
        ("home", "/staff/", {}),
        ("trials", "/staff/trials", {}),
        ("trial edit", f"/staff/trials/{ids['trial']}", {}),
        ("trial new", "/staff/trials/new", {}),
        ("criterion edit", f"/staff/trials/{ids['trial']}/criteria/{ids['criterion']}", {}),
        ("criterion new errors", f"/staff/trials/{ids['trial']}/criteria/new", {"submit_empty": True, "status": 400}),
        ("criterion new choice fact", f"/staff/trials/{ids['trial']}/criteria/new?fact=cp_dose_stable", {}),
        ("criterion new number fact", f"/staff/trials/{ids['trial']}/criteria/new?fact=hba1c", {}),
        ("criterion new duration fact", f"/staff/trials/{ids['trial']}/criteria/new?fact=time_since_diagnosis:type2", {}),
        ("question bank", "/staff/bank", {}),
        ("question edit", f"/staff/bank/questions/{ids['question']}", {}),
        ("question new", "/staff/bank/questions/new", {}),
        ("question new errors", "/staff/bank/questions/new", {"submit_empty": True, "status": 400}),
        ("question texts ar", f"/staff/bank/questions/{ids['question']}/texts/ar", {}),
        ("condition edit", f"/staff/bank/conditions/{ids['condition']}", {}),
        ("condition texts zh", f"/staff/bank/conditions/{ids['condition']}/texts/zh", {}),
        ("fact edit", f"/staff/bank/facts/{ids['fact']}", {}),
        ("fact texts ar", f"/staff/bank/facts/{ids['fact']}/texts/ar", {}),
        ("preview", "/staff/preview", {}),
        ("trial texts en", f"/staff/trials/{ids['trial']}/texts/en", {}),
        ("trial texts ar", f"/staff/trials/{ids['trial']}/texts/ar", {}),
        ("import", "/staff/import", {}),
        ("import errors", "/staff/import", {"submit_empty": True, "status": 400}),
        ("pages", "/staff/pages", {}),
        ("page edit", f"/staff/pages/{ids['page']}", {}),
        ("page texts zh", f"/staff/pages/{ids['page']}/texts/zh", {}),
        ("links", "/staff/links", {}),
        ("links errors", "/staff/links", {"submit_empty": True, "status": 400}),
        ("link detail", f"/staff/links/{ids['link']}", {}),
        ("counts", "/staff/counts", {}),
        ("audit trail", "/staff/audit", {}),
        ("users", "/staff/users", {}),
        ("user edit", f"/staff/users/{ids['user']}", {}),
        ("catalog", "/staff/catalog", {}),
    ]:
        pages.append(AuditPage(f"staff {name}", path, "en", prepare=admin, kind="staff", **extra))
    return pages


def staff_sign_in_with_next(app: Flask, client: Any, target: str):  # type: ignore[no-untyped-def]
    """Signs in through /staff/login?next=<target>; the response is the redirect to check."""
    staff_pages(app)  # makes sure the auditor's account exists
    from audit_pages import CSRF

    token = CSRF.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    return client.post("/staff/login", query_string={"next": target},
                       data={"csrf_token": token, "email": AUDITOR, "password": PASSWORD})
