"""The Victim Voice questionnaire, declared once.

The Home Office's five stages of a victim's contact with the police (ease of contact, actions
taken, follow-up, treatment, the whole experience) on the 7-point satisfaction scale, then the
Victim Voice questions the Commissioners' responses promise (kept informed, listened to, needs
met, confidence to report again) and one free-text box. Each question's ``name`` is its column in
``survey_responses`` (src/vcop/definitions/schema/canonical.yaml) and in the operational store's
``survey_answers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from vcop.spec.schema import load_schema

#: The value of "this does not apply to me, or I would rather not say" (stored as blank).
NOT_SAY = "not_say"
NOT_SAY_LABEL = "Does not apply to me, or I would rather not say"
#: The longest comment taken, in characters.
COMMENT_MAX = 2000


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """One question: its column, its wording, a hint, its answers and which part it is in."""

    name: str
    text: str
    hint: str
    part: str
    #: "scale7" (a code 1..7, stored as an integer) or "choice" (the option's value, as text).
    kind: str
    options: tuple[Option, ...]

    def stored(self, value: str) -> int | str | None:
        """A posted answer as the store keeps it (None for "rather not say")."""
        if value == NOT_SAY:
            return None
        return int(value) if self.kind == "scale7" else value

    @property
    def values(self) -> set[str]:
        return {o.value for o in self.options} | {NOT_SAY}


@cache
def scale7() -> tuple[Option, ...]:
    """The 7-point scale, with the schema's labels (1 = completely satisfied)."""
    labels = load_schema().scale7_labels
    return tuple(Option(str(code), labels[code].capitalize()) for code in sorted(labels))


CONFIDENCE = (
    Option("very_confident", "Very confident"),
    Option("fairly_confident", "Fairly confident"),
    Option("not_very_confident", "Not very confident"),
    Option("not_at_all_confident", "Not at all confident"),
)

STAGES = "About your contact with the police"
VOICE = "About how you were treated"

_WORDING: tuple[tuple[str, str, str, str], ...] = (
    ("ease_of_contact", STAGES, "How satisfied were you with how easy it was to contact the police?", ""),
    ("actions_taken", STAGES, "How satisfied were you with what the police did about the crime?", ""),
    ("follow_up", STAGES, "How satisfied were you with how the police followed up after you reported the crime?", "For example, whether they came back to you when they said they would."),
    ("treatment", STAGES, "How satisfied were you with the way the police treated you?", ""),
    ("whole_experience", STAGES, "Overall, how satisfied were you with the whole experience?", ""),
    ("kept_informed", VOICE, "How satisfied were you with how well the police kept you informed about your case?", ""),
    ("listened_to", VOICE, "How satisfied were you that the police listened to you?", ""),
    ("needs_met", VOICE, "How satisfied were you that the police met your needs?", "For example, support, information or practical help."),
)  # fmt: skip


@cache
def questions() -> tuple[Question, ...]:
    """Every question with answers to choose from, in the order the page asks them."""
    out = [Question(n, text, hint, part, "scale7", scale7()) for n, part, text, hint in _WORDING]
    out.append(
        Question(
            "confidence_to_report",
            VOICE,
            "If you were the victim of a crime again, how confident would you feel about "
            "reporting it to the police?",
            "",
            "choice",
            CONFIDENCE,
        )
    )
    return tuple(out)


#: The columns of an answer, in order (the questions', then the comment).
ANSWER_COLUMNS: tuple[str, ...] = (*(q for q, *_ in _WORDING), "confidence_to_report", "comment")
