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


GROUP = {"id": -500, "type": "group", "title": "Estate"}


def in_group(**fields: Any) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 5, "date": 1, "chat": GROUP, "from": RESIDENT, **fields}}


@pytest.mark.parametrize(
    ("markup", "button"),
    [
        ({"inline_keyboard": [[{"text": "Very satisfied", "callback_data": "a|3f9c2e1b|4|p|0"}]]}, "a|3f9c2e1b|4|p|0"),
        (
            {
                "inline_keyboard": [
                    [{"text": "Survey", "url": "https://example.org"}],
                    [{"text": "B", "callback_data": "x"}],
                ]
            },
            "x",
        ),
        ({}, None),
        ({"inline_keyboard": "not rows"}, None),
        ({"inline_keyboard": [["not a button"], [{"text": "B", "callback_data": 7}]]}, None),
    ],
)
def test_a_reply_names_the_first_button_of_the_message_it_replies_to(
    markup: dict[str, Any], button: str | None
) -> None:
    """A keyboard of an unexpected shape is no button, not a refused update: what was typed is still read."""
    body = typed("no")
    body["message"]["reply_to_message"] = {
        "message_id": 3,
        "date": 1,
        "chat": PRIVATE,
        "text": "Q?",
        "reply_markup": markup,
    }
    assert read_update(body) == Inbound(1, 7, "pl", text="no", message_id=5, replied_button=button)


@pytest.mark.parametrize(
    ("sender", "text", "question"),
    [
        (
            {"id": 1, "is_bot": True, "first_name": "Chorus"},
            "Has your landlord...?\n\u2713 Yes",
            "Has your landlord...?",
        ),
        ({"id": 1, "is_bot": True, "first_name": "Chorus"}, "Notice.\n\nAgree?\n\u2713 I agree", "Notice.\n\nAgree?"),
        ({"id": 1, "is_bot": True, "first_name": "Chorus"}, "Thank you for taking part.", None),
        ({"id": 7, "is_bot": False, "first_name": "R"}, "Q?\n\u2713 Yes", None),
        ("not a user", "Q?\n\u2713 Yes", None),
    ],
)
def test_a_reply_names_the_words_of_an_answered_question_of_the_bots(
    sender: object, text: str, question: str | None
) -> None:
    """A question answered by a press keeps its words above the answer; a resident's own message is no question."""
    body = typed("no")
    body["message"]["reply_to_message"] = {"message_id": 3, "date": 1, "chat": PRIVATE, "from": sender, "text": text}
    assert read_update(body) == Inbound(1, 7, "pl", text="no", message_id=5, replied_question=question)


def test_a_sticker_has_no_text() -> None:
    sticker = typed("x")
    del sticker["message"]["text"]
    assert read_update(sticker) == Inbound(1, 7, "pl", text=None, message_id=5)


def test_a_photo_of_an_album_names_the_album() -> None:
    photo = typed("x")
    del photo["message"]["text"]
    photo["message"] |= {"media_group_id": "1355", "photo": []}
    assert read_update(photo) == Inbound(1, 7, "pl", text=None, message_id=5, album="1355")


def test_the_words_sent_with_a_photo_are_read_as_its_text() -> None:
    photo = typed("x")
    del photo["message"]["text"]
    photo["message"] |= {"photo": [], "caption": "the damp in my kitchen"}
    assert read_update(photo) == Inbound(1, 7, "pl", text="the damp in my kitchen", message_id=5, attached=True)


@pytest.mark.parametrize("command", ["/start tsm", "/help@Chorus_Test_Bot", "/help@chorus_test_bot now"])
def test_a_command_for_this_bot_in_a_group_is_read_as_not_private(command: str) -> None:
    assert read_update(typed(command, GROUP), me="chorus_test_bot") == Inbound(
        1, -500, "pl", text=command, private=False
    )


def test_a_command_naming_another_bot_counts_as_for_this_one_until_its_name_is_known() -> None:
    assert read_update(typed("/help@another_bot", GROUP)) == Inbound(
        1, -500, "pl", text="/help@another_bot", private=False
    )


def test_a_group_moving_to_a_supergroup_gives_the_new_chat() -> None:
    assert read_update(in_group(migrate_to_chat_id=-1000500)) == Inbound(
        1, -500, "pl", private=False, moved_to=-1000500
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "Did everyone see the summary?"},
        {"text": "/help@another_bot"},
        {"new_chat_members": [RESIDENT]},
        {"migrate_from_chat_id": -400},
        {"text": "Thanks", "reply_to_message": {"message_id": 4, "date": 1, "chat": GROUP}},
    ],
    ids=["talk", "another bot's command", "a member joins", "the supergroup's own notice", "a reply to the bot"],
)
def test_in_a_group_anything_but_a_command_for_this_bot_is_ignored(fields: dict[str, Any]) -> None:
    assert read_update(in_group(**fields), me="chorus_test_bot") is None


def test_a_forwarded_message_is_read_as_forwarded() -> None:
    forwarded = typed("/forget")
    forwarded["message"]["forward_origin"] = {"type": "hidden_user", "date": 1, "sender_user_name": "A neighbour"}
    assert read_update(forwarded) == Inbound(1, 7, "pl", text="/forget", message_id=5, forwarded=True)
    forwarded["message"] = typed("3")["message"] | {"forward_date": 1}  # as Bot API servers before 7.0 say it
    assert read_update(forwarded) == Inbound(1, 7, "pl", text="3", message_id=5, forwarded=True)


def test_an_edit_in_a_private_chat_is_read_as_an_edit_and_nothing_more() -> None:
    edit = {"update_id": 3, "edited_message": typed("changed")["message"] | {"edit_date": 2}}
    assert read_update(edit) == Inbound(3, 7, "pl", edited=True)


def test_a_person_blocking_the_bot_is_read_as_blocked() -> None:
    assert read_update(membership("kicked")) == Inbound(8, 7, "pl", blocked=True)


@pytest.mark.parametrize("status", ["left", "kicked"], ids=["removed", "banned"])
def test_a_group_removing_the_bot_is_read_as_blocked(status: str) -> None:
    assert read_update(membership(status, GROUP)) == Inbound(8, -500, "pl", private=False, blocked=True)


@pytest.mark.parametrize(
    "body",
    [
        {"update_id": 3, "edited_message": typed("changed", GROUP)["message"]},
        membership("member"),
        membership("member", GROUP),
        {"update_id": 5, "callback_query": {"id": "1", "from": RESIDENT, "inline_message_id": "x", "data": "d"}},
        {
            "update_id": 6,
            "callback_query": {
                **pressed("d")["callback_query"],
                "message": typed("x", {"id": -5, "type": "group"})["message"],
            },
        },
    ],
    ids=["edit in a group", "unblocked", "added to a group", "inline-mode button", "button in a group"],
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
