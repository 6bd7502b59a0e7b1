"""Takes a survey in the terminal through the same engine as Telegram and the web.

How an officer checks skip logic before residents see it: numbers pick
options, and /back, /skip, /language CODE and /quit work as in the bot.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.messages import comment_kept, ending, refusal
from surveys.engine import start, step
from surveys.inputs import Back, ChangeLanguage, Input, Reply, Skip
from surveys.model import Kind, Survey
from surveys.outputs import AskQuestion, Completed, Noted, Output, Rejected, ShowText
from surveys.state import State, Status

HELP = "Type your answer, or /back, /skip, /language CODE, /quit."


def render(output: Output) -> str:
    """One output as terminal text, e.g. a question with its numbered choices."""
    if isinstance(output, ShowText):
        return output.text
    if isinstance(output, Rejected):
        return f"! {refusal(output)}"
    if isinstance(output, Noted):
        return comment_kept(output)
    if isinstance(output, Completed):
        return ending(output)
    return _question(output)


def _question(ask: AskQuestion) -> str:
    lines = [f"{ask.number}. {ask.text}" + ("" if ask.required else "  (optional)")]
    if ask.notice:
        lines.append(ask.notice)
    if ask.hint:
        lines.append(f"   {ask.hint}")
    for index, choice in enumerate(ask.choices, start=1):
        marker = "[x] " if choice.selected else ""
        number = choice.value if ask.kind is Kind.RATING else str(index)
        lines.append(f"   {number}) {marker}{choice.label}")
    if ask.kind is Kind.SELECT_MULTIPLE:
        lines.append("   (several allowed: e.g. 1, 3)")
    if ask.previous is not None:
        lines.append(f"   (before: {ask.previous})")
    return "\n".join(lines)


def command(line: str) -> Input | None:
    """What a line means: a command, or an answer to read. None means quit."""
    words = line.strip().split()
    if words[:1] == ["/quit"]:
        return None
    if words[:1] == ["/back"]:
        return Back()
    if words[:1] == ["/skip"]:
        return Skip()
    if words[:1] == ["/language"] and len(words) == 2:
        return ChangeLanguage(words[1])
    return Reply(line)


def preview(
    survey: Survey, read_line: Callable[[], str | None], write: Callable[[str], None], language: str | None
) -> State:
    """Run the survey until it ends, input runs out or /quit; returns the final state for the officer to inspect."""
    state, outputs = start(survey, language)
    write(f"{survey.title.get(state.language, survey.default_language)} (version {survey.version})\n{HELP}\n")
    while True:
        for output in outputs:
            write(render(output))
        if state.status is not Status.ANSWERING:
            return state
        line = read_line()
        given = command(line) if line is not None else None
        if given is None:
            write("Stopped. Nothing was saved.")
            return state
        state, outputs = step(survey, state, given)
