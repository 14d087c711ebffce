"""WTForms forms built from the bank's question definitions, one class per question.

The forms only carry input and CSRF; what counts as a valid answer is decided by
`Question.clean` in the core, and its message is attached to the right input here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField

from ..core.questions import NOT_SURE, InvalidAnswer, Kind, Question

# The inputs of the multi-input kinds: (form field name, key of the raw answer).
PARTS = {
    Kind.MONTH_YEAR: (("month", "month"), ("year", "year")),
    Kind.HBA1C: (("value", "value"), ("unit", "unit")),
    Kind.HEIGHT_WEIGHT: (("cm", "cm"), ("feet", "ft"), ("inches", "in"), ("kg", "kg"), ("lb", "lb")),
    # "pick": a suggestion the person chose from the list under an unknown place name.
    Kind.PLACE: (("place", "place"), ("pick", "pick")),
}
# Which input an error about a part of the answer belongs to.
ERROR_FIELDS = {"month": "month", "year": "year", "value": "value", "unit": "unit",
                "height": "cm", "weight": "kg", "place": "place"}


class QuestionForm(FlaskForm):
    question: Question

    def raw_answer(self) -> Any:
        parts = PARTS.get(self.question.kind)
        if parts is None:
            return self.answer.data
        raw = {key: self[name].data for name, key in parts}
        raw["not_sure"] = self.not_sure.data
        return raw

    def show_error(self, error: InvalidAnswer, message: str) -> None:
        field = self[self.error_field_name(error.part)]
        field.errors = [*field.errors, message]

    def error_field_name(self, part: str | None) -> str:
        parts = PARTS.get(self.question.kind)
        if parts is None:
            return "answer"
        name = ERROR_FIELDS.get(part or "", parts[0][0])
        if self.question.kind is Kind.HEIGHT_WEIGHT and part == "height" and (self.feet.data or self.inches.data) \
                and not self.cm.data:
            name = "feet"
        if self.question.kind is Kind.HEIGHT_WEIGHT and part == "weight" and self.lb.data and not self.kg.data:
            name = "lb"
        return name

    def fill_from(self, stored: Any) -> None:
        """Show a saved answer when the person comes back to the question."""
        if stored is None:
            return
        kind = self.question.kind
        if kind in PARTS and stored == NOT_SURE:
            self.not_sure.data = True
        elif kind is Kind.MONTH_YEAR:
            year, month = stored.split("-")
            self.month.data, self.year.data = str(int(month)), year
        elif kind is Kind.HBA1C:
            self.value.data, self.unit.data = _number(stored["value"]), stored["unit"]
        elif kind is Kind.PLACE:
            self.place.data = stored["label"]
        elif kind is Kind.HEIGHT_WEIGHT:
            height, weight = stored["height"], stored["weight"]
            self.cm.data = _number(height.get("cm"))
            self.feet.data, self.inches.data = _number(height.get("ft")), _number(height.get("in"))
            self.kg.data, self.lb.data = _number(weight.get("kg")), _number(weight.get("lb"))
        else:
            self.answer.data = _number(stored) if isinstance(stored, (int, float)) else stored


def _number(value: Any) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


@lru_cache(maxsize=512)
def form_class(question: Question) -> type[QuestionForm]:
    fields: dict[str, Any] = {"question": question}
    kind = question.kind
    if kind in PARTS:
        for name, _ in PARTS[kind]:
            # Choices are validated by the core, so a tampered value gets a plain message.
            if name == "month":
                fields[name] = SelectField(validate_choice=False, choices=[])
            elif name == "unit":
                fields[name] = RadioField(validate_choice=False, choices=[])
            else:
                fields[name] = StringField()
        fields["not_sure"] = BooleanField()
    elif kind in (Kind.SEVERAL_CHOICES, Kind.CONDITIONS):
        fields["answer"] = SelectMultipleField(validate_choice=False, choices=[])
    elif kind in (Kind.WHOLE_NUMBER, Kind.DECIMAL):
        fields["answer"] = StringField()
    else:
        fields["answer"] = RadioField(validate_choice=False, choices=[])
    name = "".join(part.title() for part in question.id.replace(":", "_").split("_")) + "Form"
    return type(name, (QuestionForm,), fields)
