"""The baseline for bench/ingest.py: a survey bot as most are written with python-telegram-bot.

A ConversationHandler with one state per question, PicklePersistence for the
answers, and PTB's custom-webhook pattern (an aiohttp route that puts updates
on the application's queue). It answers the same survey as Chorus, keeping its
state in memory and pickling it on PTB's persistence schedule.

ANSWER_BY=typing (the default) offers a reply keyboard and takes typed answers;
ANSWER_BY=buttons offers inline buttons and, on a press, does what Chorus does:
answers the button, edits the question to show the choice without its buttons,
then sends the next question.

Usage:
    python bench/baseline_bot.py  # with TOKEN, BASE_URL, PORT and STATE set in the environment
"""

from __future__ import annotations

import asyncio
import os
import signal
import warnings

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

QUESTIONS = [f"Question {n}" for n in range(1, 21)]
SCALE = [["1", "2", "3", "4", "5"]]
BUTTONS = os.environ.get("ANSWER_BY") == "buttons"
# PTB warns that with per_message=False a conversation follows the chat, not each message: as intended here.
warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
KEYBOARD = (
    InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=label) for label in SCALE[0]]])
    if BUTTONS
    else ReplyKeyboardMarkup(SCALE)
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Begin the survey; the first question follows."""
    assert update.message is not None and context.user_data is not None
    context.user_data["answers"] = {}
    await update.message.reply_text(QUESTIONS[0], reply_markup=KEYBOARD)
    return 0


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Keep the answer and ask the next question, or thank the participant at the end."""
    assert update.message is not None and context.user_data is not None
    answers = context.user_data.setdefault("answers", {})
    index = len(answers)
    answers[index] = update.message.text
    if index + 1 == len(QUESTIONS):
        await update.message.reply_text("Thank you for taking part.")
        return ConversationHandler.END
    await update.message.reply_text(QUESTIONS[index + 1], reply_markup=KEYBOARD)
    return index + 1


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Keep the pressed answer, show it on the question without buttons, ask the next question."""
    query = update.callback_query
    assert query is not None and query.message is not None and context.user_data is not None
    answers = context.user_data.setdefault("answers", {})
    index = len(answers)
    answers[index] = query.data
    await query.answer()
    await query.edit_message_text(f"{QUESTIONS[index]}: {query.data}")
    if index + 1 == len(QUESTIONS):
        await context.bot.send_message(query.message.chat.id, "Thank you for taking part.")
        return ConversationHandler.END
    await context.bot.send_message(query.message.chat.id, QUESTIONS[index + 1], reply_markup=KEYBOARD)
    return index + 1


async def main() -> None:
    persistence = PicklePersistence(filepath=os.environ["STATE"])
    application = (
        Application.builder()
        .token(os.environ["TOKEN"])
        .base_url(os.environ["BASE_URL"])
        .persistence(persistence)
        .updater(None)
        .build()
    )
    handler: BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object] = (
        CallbackQueryHandler(press, pattern="^[1-5]$") if BUTTONS else MessageHandler(filters.Regex("^[1-5]$"), answer)
    )
    states: dict[object, list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object]]] = {
        n: [handler] for n in range(len(QUESTIONS))
    }
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)], states=states, fallbacks=[], name="survey", persistent=True
        )
    )

    async def webhook(request: web.Request) -> web.Response:
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    app = web.Application()
    app.router.add_post("/telegram", webhook)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with application:
        await application.start()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
        # Listening first: the fake Bot API, unlike Telegram, does not retry an update it could not deliver.
        await application.bot.set_webhook(f"http://127.0.0.1:{os.environ['PORT']}/telegram")
        await stop.wait()
        await runner.cleanup()
        await application.stop()


if __name__ == "__main__":
    asyncio.run(main())
