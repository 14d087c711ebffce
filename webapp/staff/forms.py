"""Staff-area forms. Labels go through gettext (lazily); the staff area is in English for now."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, PasswordField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalog.schema import REGISTRY_STATUSES
from ..core.facts import FACT_SPECS
from ..core.engine import Operator
from .models import ROLES

CONDITION_CHOICES = [
    ("type1", _l("Type 1 diabetes")), ("type2", _l("Type 2 diabetes")),
    ("chronic_pancreatitis", _l("Chronic pancreatitis")), ("other_diabetes", _l("Another kind of diabetes")),
]
PAGE_CONDITION_CHOICES = CONDITION_CHOICES + [("any", _l("Everyone"))]
DATE_PATTERN = r"^$|^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$"
DATE_MESSAGE = _l("Enter a date like 2026-11-21, or a month like 2024-08.")
# A plain shape check: accounts are created by admins, so no address lookup is needed.
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address like name@clinic.org."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), EMAIL, Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class TrialForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    registry_id = StringField(_l("Registry number"), validators=[
        DataRequired(), Regexp(r"^[A-Za-z0-9-]{3,32}$", message=_l("Use letters, digits and hyphens, like NCT01234567."))])
    registry_url = StringField(_l("Registry address"), validators=[Optional(), URL(), Length(max=500)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=100)])
    official_title = TextAreaField(_l("Official title"), validators=[DataRequired(), Length(max=2000)])
    sponsor = StringField(_l("Sponsor"), validators=[Optional(), Length(max=300)])
    phase = StringField(_l("Phase"), validators=[Optional(), Length(max=50)])
    status = SelectField(_l("Registry status"), choices=sorted(REGISTRY_STATUSES))
    status_verified = StringField(_l("Status checked on"), validators=[Regexp(DATE_PATTERN, message=DATE_MESSAGE)])
    site = StringField(_l("Site"), validators=[Optional(), Length(max=300)])
    site_city = StringField(_l("City and state"), validators=[Optional(), Length(max=200)])
    conditions = MultiCheckboxField(_l("Conditions this study is about"), choices=CONDITION_CHOICES)
    contacts = TextAreaField(_l("Contacts (one per line: name | phone | email)"), validators=[Length(max=5000)])
    sources = TextAreaField(_l("Sources (one per line: label | address)"), validators=[DataRequired(), Length(max=5000)])
    facts_checked = StringField(_l("Facts checked on"), validators=[Regexp(DATE_PATTERN, message=DATE_MESSAGE)])
    shown = BooleanField(_l("Show this study to patients"))


FACT_CHOICES = [("", _l("— nothing a person answers: the study team checks"))] + [
    (name, name) for name in FACT_SPECS]
OPERATOR_CHOICES = [(o.value, o.value) for o in Operator]


class CriterionForm(FlaskForm):
    version = HiddenField()
    fact = SelectField(_l("Fact it reads"), choices=FACT_CHOICES)
    operator = SelectField(_l("How"), choices=OPERATOR_CHOICES)
    met = StringField(_l("Answers that meet it (comma-separated, for one_of)"), validators=[Length(max=500)])
    check = StringField(_l("Answers the study team must check (comma-separated)"), validators=[Length(max=500)])
    minimum = IntegerField(_l("Minimum (for between; empty means no limit)"), validators=[Optional()])
    maximum = IntegerField(_l("Maximum (empty means no limit)"), validators=[Optional()])
    check_minimum = IntegerField(_l("Lowest value the study team checks (disputed band)"), validators=[Optional()])
    check_maximum = IntegerField(_l("Highest value the study team checks (disputed band)"), validators=[Optional()])
    description = TextAreaField(_l("Plain description (English)"), validators=[DataRequired(), Length(max=1000)])
    if_not_met = TextAreaField(_l("What to tell a person it rules out (optional)"), validators=[Length(max=1000)])
    source = TextAreaField(_l("Source of this criterion"), validators=[Length(max=2000)])


class VersionForm(FlaskForm):
    """For small POST actions on a trial (move, remove): CSRF and the version seen."""

    version = HiddenField()


class TrialTextsForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title in plain words"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=3000)])
    involves = TextAreaField(_l("What taking part involves"), validators=[Length(max=5000)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))


class ImportForm(FlaskForm):
    registry_id = StringField(_l("Fetch by registry number"), validators=[
        Optional(), Regexp(r"^NCT\d{8}$", message=_l("Use a registry number like NCT01234567."))])
    record = TextAreaField(_l("Or paste the study's JSON record"), validators=[Length(max=5_000_000)])
    upload = FileField(_l("Or upload JSON files"))


class PageForm(FlaskForm):
    version = HiddenField()
    slug = StringField(_l("Address name (lowercase words joined by hyphens)"), validators=[
        DataRequired(), Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("Use lowercase words joined by hyphens."))])
    conditions = MultiCheckboxField(_l("Who this page is for"), choices=PAGE_CONDITION_CHOICES)
    trials = MultiCheckboxField(_l("Studies this page is about"), choices=[])
    sources = TextAreaField(_l("Sources (one per line: label | address)"), validators=[DataRequired(), Length(max=5000)])


class PageTextsForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=1000)])
    body = TextAreaField(_l("Page text (Markdown)"), validators=[DataRequired(), Length(max=50_000)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))


class ShareLinkForm(FlaskForm):
    label = StringField(_l("Label (for staff, e.g. “Diabetes clinic flyer, spring”)"), validators=[DataRequired(), Length(max=200)])
    language = SelectField(_l("Language the screener opens in"), choices=[])
    trials = MultiCheckboxField(_l("Only show these studies (leave all unticked to show every study)"), choices=[])


class StaffCreateForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), EMAIL, Length(max=254)])
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])
    password = PasswordField(_l("Password (at least 12 characters)"), validators=[DataRequired(), Length(min=12, max=200)])


class StaffUpdateForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])
    active = BooleanField(_l("Account can sign in"))
    password = PasswordField(_l("New password (leave empty to keep)"), validators=[Optional(), Length(min=12, max=200)])


class CatalogLoadForm(FlaskForm):
    upload = FileField(_l("Catalog file (JSON)"))
    replace_edited = BooleanField(_l("Also replace studies and pages staff have edited (restore an export)"))


class ActionForm(FlaskForm):
    """CSRF only, for buttons."""
