"""Everything Chorus itself says to a participant, in English; bot/locale holds the Polish and Urdu.

The engine gives reasons and details; this is the one place that turns them
into sentences, so Telegram, the web form and the preview say the same thing.
Each constant is a gettext msgid: `say(language, TEXT, **details)` translates it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import translate
from surveys.model import Kind
from surveys.outputs import Completed, Noted, Reason, Rejected

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
WELCOME = (
    "Hello! I'm Chorus. I ask short surveys for local services, one question at a time. "
    "Open the link on your leaflet or scan its QR code to begin a survey."
)
ABOUT = "Short surveys for local services, one question at a time."
HELP = (
    "Answer each question by pressing a button or typing.\n"
    "/back goes back one question\n"
    "/skip skips a question you don't want to answer\n"
    "/language changes the language\n"
    "/stop stops all messages from me\n"
    "/mydata sends you everything we hold about you\n"
    "/forget erases everything we hold about you"
)
RUN_BY = "This survey is run by {organisation}."
ANONYMOUS = "Your answers to this survey are anonymous: once enough others have answered, or at the end of the week, they are stored with theirs, with no link to you. Until then, /mydata shows them and /forget erases them."
HOW_TO_STOP = "You can stop at any time with /stop, and see or erase your data with /mydata and /forget."
WELCOME_BACK = "Welcome back! Here is where you left off."
STOPPED = "You won't get any more messages from me. Send /start to take part again."
PAUSED = "You asked me to stop, so I am not taking answers. Send /start to carry on where you left off."
FORGET_CONFIRM = "This erases everything we hold about you, including your answers. Are you sure?"
FORGET_YES = "Yes, erase everything"
FORGET_NO = "No, keep it"
FORGOTTEN = "Done. Everything we held about you has been erased."
NOT_FORGOTTEN = "Nothing has been erased."
MYDATA = "Here is everything we hold about you."
MYDATA_HEADING = "What we hold about you"
MYDATA_CONTACT = "Your Telegram chat, in {language}, since {date}."
MYDATA_STAFF = "You joined as staff of {organisation}."
MYDATA_AREA = "Your area, from the link you opened: {area}."
MYDATA_SERVICE = "The service whose link you opened: {service}."
MYDATA_STOPPED = "You asked for no more messages on {date}."
MYDATA_FINISHED = "{survey}, finished on {date}:"
MYDATA_UNFINISHED = "{survey}, started on {date} and not finished:"
MYDATA_COMMENT = "Your comment: {comment}"
MYDATA_NO_ANSWERS = "No answers yet."
MYDATA_NONE = "We hold no answers linked to you."
MYDATA_ANONYMOUS = "Answers to anonymous surveys are stored with no link to you, so they cannot be shown here."
MYDATA_ANONYMOUS_HELD = "Your latest answers to anonymous surveys are linked to you until enough others have answered or the week ends, and are in the file below; then they are stored with no link to you."
MYDATA_FILE = "The file below has all of it, with the notices you agreed to and the messages we sent you."
BACK = "\u25c0 Back"
SKIP = "Skip"
DONE = "Done \u2713"
# Typed at a multiple choice besides the Done button's word (in the resident's language or English): what people
# type when they have ticked what they want. "ok" here means done; at a yes/no question it says nothing.
SAID_DONE = frozenset(
    {
        *("ok", "okay", "next", "finished", "thats it", "thats all", "all done", "done"),
        *("gotowe", "dalej", "skończone", "koniec"),
        *("بس", "ہو گیا", "آگے", "bas", "ho gaya", "agay", "aage"),
    }
)
# Typed instead of pressing Skip or Back, besides the buttons' own words (in the resident's language or English).
# Typed at a free-text question, "skip" or "n/a" was stored as the answer; at one offering Other, as Other: "skip".
SAID_SKIP = frozenset(
    {
        *("skip", "skip it", "skip this", "skip this one", "skip question", "n/a", "not applicable"),
        *("prefer not to say", "rather not say", "id rather not say", "no comment"),
        *("pomiń", "pomiń pytanie", "nie dotyczy", "wolę nie mówić", "wolę nie odpowiadać", "bez komentarza"),
        *("چھوڑیں", "چھوڑ دیں", "نہیں بتانا", "chhoren", "chhor dein"),
    }
)
SAID_BACK = frozenset(
    {
        *("back", "go back", "previous", "previous question"),
        *("wstecz", "cofnij", "wróć", "poprzednie pytanie"),
        *("پیچھے", "واپس", "peeche", "wapas"),
    }
)
ANSWER_BEFORE = "Your answer before: {answer}"
SKIPPED = "Skipped"
CHOOSE_LANGUAGE = "Choose your language:"
LANGUAGE_SET = "Language changed to {language}."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I understand."
COMMENT_KEPT = (
    "Thank you, we have kept what you wrote as a comment on this question. Please also choose one of the answers above."
)
COMMENT_KEPT_NUMBER = (
    "Thank you, we have kept what you wrote as a comment on this question. Please also answer it with a number."
)
COMMENT_KEPT_DATE = (
    "Thank you, we have kept what you wrote as a comment on this question. "
    "Please also answer it with a date, such as 31/12/2025."
)
NOT_TEXT = "I can only read text and button presses. Please type your answer or press a button."
ATTACHMENT_NOT_KEPT = "I have read the words you sent with that, but photos, videos and files are not kept."
EDIT_NOT_READ = "I only read what you send, not later changes to it. To change an answer, send /back and answer again."
REPLIED_TO_EARLIER = (
    "That is a reply to an earlier question, so I have not taken it as an answer. "
    "Please answer the latest question; to change an earlier answer, send /back."
)
FORWARDED = (
    "That looks like a forwarded message, so I have not taken it as your answer. "
    "Please type your own answer or press a button."
)
SORRY = (
    "Sorry, something went wrong on our side and your last message was not recorded. Please try again, or send /help."
)
NO_SURVEY = "You're not answering a survey at the moment. Open a survey link to begin."
UNKNOWN_SURVEY = "I couldn't find that survey. Please check the link."
CLOSED = "This survey has closed. Thank you for your interest."
STAFF_JOINED = "You're now registered as staff of {organisation}. Your answers to staff surveys are anonymous."
STAFF_CODE_INVALID = "That staff code isn't valid or has already been used. Please ask for a new one."
STAFF_ONLY = "This survey is for staff. Please join first with the link from your organisation."
INVITE = (
    "{organisation} would like to hear from you in \u201c{survey}\u201d. It takes a few minutes, one question "
    "at a time. Press the button to begin, or send /stop to get no more messages."
)
REMINDER = (
    "A reminder: {organisation} would still like to hear from you in \u201c{survey}\u201d. Press the button "
    "to begin, or send /stop to get no more messages."
)
REMINDER_STARTED = (
    "You started \u201c{survey}\u201d but haven't finished it yet. Press the button to continue where you "
    "left off, or send /stop to get no more messages."
)
START_SURVEY = "Start the survey"
CONTINUE_SURVEY = "Continue where I left off"
ALREADY_DONE = "You've already answered this survey. Thank you for taking part."
ANSWER_AGAIN = "Answer it again"
PRIVATE_ONLY = "Please talk to me in a private chat, so your answers stay private."
COMMANDS: dict[str, str] = {
    "start": "Start or resume a survey",
    "back": "Go back one question",
    "skip": "Skip this question",
    "language": "Change language",
    "help": "What I can do",
    "stop": "Stop all messages",
    "mydata": "See everything we hold about you",
    "forget": "Erase everything we hold about you",
}
QUOTE_LENGTH = 60
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "ur": "\u0627\u0631\u062f\u0648"}


def language_name(code: str) -> str:
    """A language as its speakers write it, e.g. "pl" -> 'Polski'; a survey's other languages by their code."""
    return LANGUAGE_NAMES.get(code, code)


def available_in(languages: Iterable[str], language: str) -> str:
    """Which languages a survey is written in, said in the participant's, e.g. 'Ta ankieta jest dostępna w
    językach: English.'"""
    return say(language, REFUSALS[Reason.UNKNOWN_LANGUAGE], languages=", ".join(map(language_name, languages)))


def say(language: str, message: str, /, **details: str | int | float) -> str:
    """A message in the participant's language, e.g. say("pl", SKIP) -> 'Pomiń'."""
    return translate(language, message).format(**details) if details else translate(language, message)


def refusal(rejected: Rejected, language: str = "en") -> str:
    """The survey author's message when there is one, else Chorus's own, e.g. 'Please choose no more than 3.'"""
    if rejected.message:
        return rejected.message
    params = {name: quoted(str(value)) if name == "text" else value for name, value in rejected.params.items()}
    return say(language, REFUSALS[rejected.reason], **params)


def quoted(text: str, limit: int = QUOTE_LENGTH) -> str:
    """A person's words as a refusal quotes them back: on one line, and cut short, so a pasted
    page is not sent back whole (it was, split over two messages, the first reading only 'Sorry,')."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def comment_kept(noted: Noted, language: str = "en") -> str:
    """Thanks for a comment, and how the question still wants answering: buttons, a number or a date."""
    if noted.kind in (Kind.INTEGER, Kind.DECIMAL):
        return say(language, COMMENT_KEPT_NUMBER)
    if noted.kind is Kind.DATE:
        return say(language, COMMENT_KEPT_DATE)
    return say(language, COMMENT_KEPT)


def ending(completed: Completed, language: str = "en") -> str:
    if completed.declined:
        return say(language, DECLINED)
    return completed.text or say(language, THANK_YOU)
