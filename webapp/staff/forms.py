"""Staff-area forms. Labels go through gettext (lazily); the staff area is in English for now."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalog.ctgov import registry_number
from ..catalog.limits import limit_of
from ..catalog.schema import REGISTRY_STATUSES
from ..core.facts import FACT_KINDS
from ..core.questions import Kind
from .models import ROLES

LANGUAGE_LABELS = {"en": "English", "es": "Spanish", "zh": "Chinese", "ar": "Arabic"}
DATE_PATTERN = r"^$|^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$"
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
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=limit_of("acronym"))])
    official_title = TextAreaField(_l("Official title"), validators=[DataRequired(), Length(max=2000)])
    sponsor = StringField(_l("Sponsor"), validators=[Optional(), Length(max=limit_of("sponsor"))])
    phase = StringField(_l("Phase"), validators=[Optional(), Length(max=limit_of("phase"))])
    status = SelectField(_l("Registry status"), choices=sorted(REGISTRY_STATUSES))
    status_verified = StringField(_l("Status checked on"), validators=[Regexp(DATE_PATTERN, message=DATE_MESSAGE)])
    site = StringField(_l("Site"), validators=[Optional(), Length(max=limit_of("site"))])
    site_city = StringField(_l("City and state"), validators=[Optional(), Length(max=limit_of("site_city"))])
    conditions = MultiCheckboxField(_l("Conditions this study is about"), choices=[])
    contacts = TextAreaField(_l("Contacts (one per line: name | phone | email)"), validators=[Length(max=5000)])
    sources = TextAreaField(_l("Sources (one per line: label | address)"), validators=[DataRequired(), Length(max=5000)])
    facts_checked = StringField(_l("Facts checked on"), validators=[Regexp(DATE_PATTERN, message=DATE_MESSAGE)])
    shown = BooleanField(_l("Show this study to patients"))


class CriterionForm(FlaskForm):
    """The fields every criterion has; the answers or limits depend on the fact and are read
    from the request (see services.criterion_data), its words per language too."""

    version = HiddenField()
    line = HiddenField()
    fact = SelectField(_l("Fact it reads"), choices=[], validate_choice=False)
    minimum = StringField(_l("Minimum (empty means no limit)"), validators=[Length(max=20)])
    maximum = StringField(_l("Maximum (empty means no limit)"), validators=[Length(max=20)])
    unit = SelectField(_l("Unit of the limits"), choices=[], validate_choice=False)
    min_inclusive = BooleanField(_l("The minimum itself is allowed"), default=True)
    max_inclusive = BooleanField(_l("The maximum itself is allowed"), default=True)
    check_minimum = StringField(_l("Lowest value the study team checks (sources disagree)"), validators=[Length(max=20)])
    check_maximum = StringField(_l("Highest value the study team checks (sources disagree)"), validators=[Length(max=20)])
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
        Optional(), Regexp(r"^NCT[0-9]{8}$", message=_l("Use a registry number like NCT01234567."))],
        filters=[lambda value: registry_number(value) if value else value])
    record = TextAreaField(_l("Or paste the study's JSON record"), validators=[Length(max=5_000_000)])
    upload = FileField(_l("Or upload JSON files"))


class PageForm(FlaskForm):
    version = HiddenField()
    slug = StringField(_l("Address name (lowercase words joined by hyphens)"), validators=[
        DataRequired(), Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("Use lowercase words joined by hyphens."))])
    conditions = MultiCheckboxField(_l("Who this page is for"), choices=[])
    trials = MultiCheckboxField(_l("Studies this page is about"), choices=[])
    sources = TextAreaField(_l("Sources (one per line: label | address)"), validators=[DataRequired(), Length(max=5000)])


class PageTextsForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=1000)])
    body = TextAreaField(_l("Page text (Markdown)"), validators=[DataRequired(), Length(max=50_000)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))


class ShareLinkForm(FlaskForm):
    label = StringField(_l("Label (for staff, e.g. “Diabetes clinic flyer, spring”)"),
                        validators=[DataRequired(), Length(max=200)])
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


KEY = Regexp(r"^[a-z0-9_]+$", message=_l("Use lowercase letters, digits and underscores, like insulin_pump."))


class ConditionForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    key = StringField(_l("Id (lowercase letters, digits and underscores)"), validators=[DataRequired(), KEY, Length(max=60)])
    registry_terms = TextAreaField(_l("Registry wordings that mean this condition (one per line)"),
                                   validators=[Length(max=20_000)])
    search_term = StringField(_l("What to search ClinicalTrials.gov for when nothing fits (optional)"),
                              validators=[Optional(), Length(max=200)])


class ConditionTextsForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    label = StringField(_l("Name as an answer (“Type 1 diabetes”)"), validators=[DataRequired(), Length(max=200)])
    in_sentence = StringField(_l("Name inside a sentence (“type 1 diabetes”)"), validators=[Optional(), Length(max=200)])
    hint = TextAreaField(_l("Hint under the answer (optional)"), validators=[Length(max=500)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))


class FactTextsForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    label = StringField(_l("What the fact is, in a few words"), validators=[DataRequired(), Length(max=200)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))


class FactForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    key = StringField(_l("Id (lowercase letters, digits, underscores; time_since_diagnosis:CONDITION for a diagnosis date)"),
                      validators=[DataRequired(), Regexp(r"^[a-z0-9_]+(:[a-z0-9_]+)?$",
                                                         message=_l("Use lowercase letters, digits and underscores.")),
                                  Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[(k, k) for k in FACT_KINDS if k != "place"])
    unit = StringField(_l("Unit it is compared in (years, %, kg/m2; months for a duration)"),
                       validators=[Optional(), Length(max=20)])
    lab_value = BooleanField(_l("Only a test by the study team can confirm it (an answer can only rule out)"))
    condition = SelectField(_l("Condition it is about (for a time since diagnosis)"), choices=[], validate_choice=False)
    lowest = StringField(_l("Lowest value a person can answer (optional)"), validators=[Length(max=20)])
    highest = StringField(_l("Highest value a person can answer (optional)"), validators=[Length(max=20)])
    label = StringField(_l("What it is, for staff (English)"), validators=[DataRequired(), Length(max=300)])


QUESTION_KINDS = [(k.value, k.value.replace("_", " ")) for k in Kind if k is not Kind.CONDITIONS]


class QuestionForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    key = StringField(_l("Id (lowercase letters, digits and underscores)"), validators=[DataRequired(), KEY, Length(max=60)])
    kind = SelectField(_l("Kind of answer"), choices=QUESTION_KINDS)
    facts = MultiCheckboxField(_l("Facts its answer gives"), choices=[])
    new_fact = StringField(_l("Or give a new fact of the same name (its kind follows the answer)"),
                           validators=[Optional(), Length(max=100)])
    options = TextAreaField(_l("Answers, one per line: value | exclusive | unknown (unknown for “Not sure”, "
                               "“Prefer not to say”); choice kinds only"), validators=[Length(max=5000)])
    condition = SelectField(_l("Asked only of people who chose this condition (or “Not sure”)"), choices=[],
                            validate_choice=False)
    skip = TextAreaField(_l("Not asked when, one per line: fact in value1,value2 then ANSWER | fact below N then "
                            "ANSWER | fact above N then ANSWER | language en then ANSWER"), validators=[Length(max=5000)])
    minimum = StringField(_l("Lowest number accepted (numbers only)"), validators=[Length(max=20)])
    maximum = StringField(_l("Highest number accepted (numbers only)"), validators=[Length(max=20)])
    caregiver_hint = BooleanField(_l("Remind people answering for someone else to answer for them"), default=True)


class QuestionTextsForm(FlaskForm):
    version = HiddenField()
    loaded = HiddenField()
    text = TextAreaField(_l("The question"), validators=[DataRequired(), Length(max=500)])
    hint = TextAreaField(_l("Hint (optional)"), validators=[Length(max=2000)])
    short_label = StringField(_l("Short label on the check-your-answers page"), validators=[DataRequired(), Length(max=200)])
    required_message = StringField(_l("Message when no answer is given (optional)"), validators=[Length(max=300)])
    reviewed = BooleanField(_l("A qualified person has reviewed this text"))
