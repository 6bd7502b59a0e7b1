"""The words Chorus itself says to a participant when an answer cannot be used.

The engine gives a reason and its details; this is the one place that turns
them into a sentence, so Telegram, the web form and the preview say the same.
"""

from __future__ import annotations

from surveys.outputs import Completed, Reason, Rejected

REFUSALS: dict[Reason, str] = {
    Reason.REQUIRED: "This question needs an answer before we can go on.",
    Reason.NOT_A_CHOICE: "Sorry, \u201c{text}\u201d is not one of the options. Please choose one of them.",
    Reason.AMBIGUOUS_CHOICE: "\u201c{text}\u201d could mean {options}. Please say which one.",
    Reason.TOO_FEW_CHOICES: "Please choose at least {minimum}.",
    Reason.TOO_MANY_CHOICES: "Please choose no more than {maximum}.",
    Reason.ONE_CHOICE_ONLY: "Please choose just one option.",
    Reason.NOT_A_NUMBER: "Please answer with a number.",
    Reason.NOT_A_WHOLE_NUMBER: "Please answer with a whole number.",
    Reason.BELOW_MINIMUM: "Please give a number of at least {minimum:g}.",
    Reason.ABOVE_MAXIMUM: "Please give a number no higher than {maximum:g}.",
    Reason.NOT_A_DATE: "Please give a date, such as 31/12/2025.",
    Reason.TOO_LONG: "That is {length} characters; please keep it under {max_length}.",
    Reason.CONSTRAINT: "That answer doesn't look right. Please check it and try again.",
    Reason.CANNOT_GO_BACK: "This is the first question, so there is nothing to go back to.",
    Reason.STALE: "That button belongs to an earlier question. Please answer the latest one.",
    Reason.FINISHED: "This survey is finished. Thank you for taking part.",
    Reason.UNKNOWN_LANGUAGE: "This survey is available in: {languages}.",
    Reason.NOT_APPLICABLE: "That doesn't work for this question. Please answer it as asked.",
}
THANK_YOU = "Thank you for taking part."
DECLINED = "Thank you. You have not taken part, and none of your answers have been kept."


def refusal(rejected: Rejected) -> str:
    """The survey author's message when there is one, else Chorus's own, e.g. 'Please choose no more than 3.'"""
    if rejected.message:
        return rejected.message
    return REFUSALS[rejected.reason].format(**rejected.params)


def ending(completed: Completed) -> str:
    if completed.declined:
        return DECLINED
    return completed.text or THANK_YOU
