"""Reading Telegram updates from the Bot API's JSON: the fields Chorus acts on, and a clear refusal of anything else."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import NotAnUpdate
from bot.telegram.updates import Inbound, read_update

RESIDENT = {"id": 7, "is_bot": False, "first_name": "Ana", "language_code": "pl"}
PRIVATE = {"id": 7, "type": "private", "first_name": "Ana"}


def typed(text: str, chat: dict[str, Any] = PRIVATE) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 5, "date": 1, "chat": chat, "from": RESIDENT, "text": text}}


def membership(status: str, chat: dict[str, Any] = PRIVATE) -> dict[str, Any]:
    bot = {"id": 1, "is_bot": True, "first_name": "Chorus"}
    change = {
        "chat": chat,
        "from": RESIDENT,
        "date": 1,
        "old_chat_member": {"user": bot, "status": "member"},
        "new_chat_member": {"user": bot, "status": status},
    }
    return {"update_id": 8, "my_chat_member": change}


def pressed(data: str) -> dict[str, Any]:
    question = {"message_id": 4, "date": 1, "chat": PRIVATE, "text": "How satisfied?", "reply_markup": {}}
    query = {"id": "77", "from": RESIDENT, "message": question, "chat_instance": "1", "data": data}
    return {"update_id": 2, "callback_query": query}


def test_a_typed_answer_gives_its_chat_language_text_and_message() -> None:
    assert read_update(typed("3")) == Inbound(1, 7, "pl", text="3", message_id=5)


def test_a_button_press_gives_its_data_and_the_message_it_was_on() -> None:
    assert read_update(pressed("v1:0:p:2")) == Inbound(
        2, 7, "pl", callback_id="77", callback_data="v1:0:p:2", message_id=4
    )


def test_a_sticker_has_no_text_and_a_group_message_is_marked_not_private() -> None:
    sticker = typed("x")
    del sticker["message"]["text"]
    assert read_update(sticker) == Inbound(1, 7, "pl", text=None, message_id=5)
    group = read_update(typed("/start tsm", {"id": -500, "type": "group", "title": "Estate"}))
    assert group == Inbound(1, -500, "pl", private=False)


def test_a_person_blocking_the_bot_is_read_as_blocked() -> None:
    assert read_update(membership("kicked")) == Inbound(8, 7, "pl", blocked=True)


@pytest.mark.parametrize(
    "body",
    [
        {"update_id": 3, "edited_message": typed("changed")["message"]},
        membership("member"),
        membership("kicked", {"id": -500, "type": "group", "title": "Estate"}),
        {"update_id": 5, "callback_query": {"id": "1", "from": RESIDENT, "inline_message_id": "x", "data": "d"}},
        {
            "update_id": 6,
            "callback_query": {
                **pressed("d")["callback_query"],
                "message": typed("x", {"id": -5, "type": "group"})["message"],
            },
        },
    ],
    ids=["edited message", "unblocked", "removed from a group", "inline-mode button", "button in a group"],
)
def test_updates_chorus_does_not_act_on_are_ignored(body: dict[str, Any]) -> None:
    assert read_update(body) is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([1, 2], "a JSON array, not an object"),
        ({}, "update.update_id is missing"),
        ({"update_id": "7"}, "update.update_id is a JSON string, not integer"),
        ({"update_id": True}, "update.update_id is a JSON boolean, not integer"),
        (
            {"update_id": 7, "callback_query": {"id": "1", "message": 5}},
            "callback_query.message is a JSON integer, not object",
        ),
        ({"update_id": 7, "message": {"message_id": 1, "chat": {"id": 7}}}, "message.chat.type is missing"),
        ({"update_id": 7, "my_chat_member": {"chat": PRIVATE}}, "my_chat_member.new_chat_member is missing"),
        (
            {"update_id": 7, "message": {"message_id": 1, "chat": PRIVATE, "text": ["3"]}},
            "message.text is a JSON array, not string",
        ),
    ],
)
def test_a_malformed_update_is_refused_naming_the_field(body: object, named: str) -> None:
    with pytest.raises(NotAnUpdate, match=named):
        read_update(body)
