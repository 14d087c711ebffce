"""WTForms forms built from the core's question definitions, one class per question.

The forms only carry input and CSRF; what counts as a valid answer is decided by
`Question.clean` in the core, and its message is attached to the right input here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField

from ..core.questions import NOT_SURE, InvalidAnswer, Kind, Question


class QuestionForm(FlaskForm):
    question: Question

    def raw_answer(self) -> Any:
        if self.question.kind is Kind.MONTH_YEAR:
            return {"month": self.month.data, "year": self.year.data,
                    "not_sure": self.not_sure.data}
        return self.answer.data

    def show_error(self, error: InvalidAnswer) -> None:
        field = self[self.error_field_name(error.part)]
        field.errors = [*field.errors, gettext(error.message)]

    def error_field_name(self, part: str | None) -> str:
        if self.question.kind is Kind.MONTH_YEAR:
            return part or "month"
        return "answer"

    def fill_from(self, stored: Any) -> None:
        """Show a saved answer when the person comes back to the question."""
        if stored is None:
            return
        if self.question.kind is Kind.MONTH_YEAR:
            if stored == NOT_SURE:
                self.not_sure.data = True
            else:
                year, month = stored.split("-")
                self.month.data, self.year.data = str(int(month)), year
        else:
            self.answer.data = str(stored) if isinstance(stored, int) else stored


@cache
def form_class(question: Question) -> type[QuestionForm]:
    fields: dict[str, Any] = {"question": question}
    if question.kind is Kind.MONTH_YEAR:
        # Choices are validated by the core, so a tampered value gets a plain message.
        fields["month"] = SelectField(validate_choice=False, choices=[])
        fields["year"] = StringField()
        fields["not_sure"] = BooleanField()
    elif question.kind is Kind.SEVERAL_CHOICES:
        fields["answer"] = SelectMultipleField(validate_choice=False, choices=[])
    elif question.kind is Kind.WHOLE_NUMBER:
        fields["answer"] = StringField()
    else:
        fields["answer"] = RadioField(validate_choice=False, choices=[])
    return type(f"{question.id.title().replace('_', '')}Form", (QuestionForm,), fields)
