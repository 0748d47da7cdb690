"""Admin area, the kindergarten's versioned texts: the default chat rules and the consent to
personal-data processing. Each change is a new version; chats following the default rules move
to the new one, and new registrations consent to the new consent text."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import ChatMember, Consent, ConsentText, Message, Rules, User
from sferum_lite.texts import DEFAULT_CONSENT, DEFAULT_RULES

from . import factories as f
from .test_admin_groups import audit_rows, field_errors, flashes, page_text
from .test_staff_join import open_link, register

NEW_RULES = "1. Пишем вежливо.\n2. Пишем по делу.\n\n3. Фотографии чужих детей не публикуем."
NEW_CONSENT = "Я даю согласие на обработку персональных данных.\n\n1. Данные: имя и телефон."


def default_versions(kindergarten) -> list[Rules]:
    return db.session.scalars(
        select(Rules)
        .where(Rules.kindergarten_id == kindergarten.id, Rules.chat_id.is_(None))
        .order_by(Rules.version)
    ).all()


def consent_versions(kindergarten) -> list[ConsentText]:
    return db.session.scalars(
        select(ConsentText)
        .where(ConsentText.kindergarten_id == kindergarten.id)
        .order_by(ConsentText.version)
    ).all()


def textarea(response, name="text") -> str:
    match = re.search(
        rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page_text(response), re.S
    )
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1))


def own_rules_chat(world):
    """A chat whose moderator wrote its own rules."""
    chat = f.make_chat(world.kindergarten, world.other_educator, title="Кружок рисования")
    own = Rules(
        kindergarten_id=world.kindergarten.id,
        chat_id=chat.id,
        version=1,
        text="1. Рисуем вместе.",
        created_by_id=world.other_educator.id,
    )
    db.session.add(own)
    db.session.flush()
    chat.rules_id = own.id
    db.session.commit()
    return chat, own


# --- the default rules -------------------------------------------------------------------------


def test_rules_page_shows_the_current_version_to_edit(world, admin_client):
    response = admin_client.get("/admin/rules")

    assert response.status_code == 200
    body = page_text(response)
    assert "Редакция 1" in body
    assert textarea(response).strip() == DEFAULT_RULES.strip()
    assert 'name="note"' in body
    assert "Прежние редакции" not in body


def test_change_default_rules_moves_the_chats_that_follow_them(world, admin_client):
    [first] = default_versions(world.kindergarten)
    following = f.make_chat(world.kindergarten, world.educator, group=world.group)
    archived = f.make_chat(world.kindergarten, world.educator, title="Старый чат", archived=True)
    own_chat, own = own_rules_chat(world)

    response = admin_client.post(
        "/admin/rules", data={"text": NEW_RULES.replace("\n", "\r\n") + "  \r\n", "note": "Короче"}
    )

    assert response.status_code == 303, page_text(response)[:2000]
    assert response.location == "/admin/rules"
    versions = default_versions(world.kindergarten)
    assert [v.version for v in versions] == [1, 2]
    new = versions[-1]
    assert new.text == NEW_RULES, "line breaks kept, \\r\\n and trailing spaces gone"
    assert new.note == "Короче"
    assert new.created_by_id == world.admin.id
    for chat in (following, archived, own_chat):
        db.session.refresh(chat)
    assert following.rules_id == new.id
    assert archived.rules_id == new.id
    assert own_chat.rules_id == own.id, "a chat with its own rules keeps them"
    assert first.text == DEFAULT_RULES, "the earlier version stays as it was"
    [log] = audit_rows("rules.default_changed")
    assert log.actor_id == world.admin.id
    assert log.details["version"] == 2

    page = admin_client.get(response.location)
    assert flashes(page) == [
        "Новая редакция правил сохранена. Чаты, которые следуют правилам детского сада, уже "
        "показывают её; их участники примут её, прежде чем снова написать."
    ]
    body = page_text(page)
    assert "Редакция 2" in body
    assert "Прежние редакции" in body
    assert re.search(r"<details class=\"version\">\s*<summary>Редакция 1", body)
    assert textarea(page).strip() == NEW_RULES


def test_members_of_a_following_chat_accept_the_new_version_before_posting(
    world, admin_client, as_user
):
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )

    admin_client.post("/admin/rules", data={"text": NEW_RULES, "note": "Новая редакция"})

    db.session.refresh(chat)
    assert db.session.get(Rules, chat.rules_id).version == 2
    member = db.session.get(ChatMember, (chat.id, world.parent.id))
    assert member.rules_accepted_id != chat.rules_id, "accepted version 1, not version 2"
    response = as_user(world.parent).post(f"/chats/{chat.id}/messages", data={"text": "Привет"})
    assert response.status_code == 403, "the new rules come first"
    assert db.session.scalar(select(Message.id).where(Message.chat_id == chat.id)) is None


def test_versions_are_listed_newest_first(world, admin_client):
    for n in range(2, 5):
        admin_client.post(
            "/admin/rules", data={"text": f"{NEW_RULES}\n{n + 2}. Ещё.", "note": f"№{n}"}
        )

    body = page_text(admin_client.get("/admin/rules"))

    assert re.findall(r"<summary>Редакция (\d+)", body) == ["3", "2", "1"]
    assert "Что изменилось: №4" in body


@pytest.mark.parametrize(
    "text", [DEFAULT_RULES, DEFAULT_RULES.strip().replace("\n", "\r\n"), DEFAULT_RULES + "\n\n  "]
)
def test_unchanged_rules_are_refused(world, admin_client, text):
    response = admin_client.post("/admin/rules", data={"text": text, "note": "Ничего"})

    assert response.status_code == 422
    assert field_errors(response) == ["Текст правил не изменился."]
    assert len(default_versions(world.kindergarten)) == 1
    assert audit_rows("rules.default_changed") == []


@pytest.mark.parametrize(
    "data,error",
    [
        (
            {"text": "Пишем вежливо.\nПишем по делу.", "note": "Без номеров"},
            "Пронумеруйте пункты правил: каждый пункт с новой строки, «1.», «2.» и так далее.",
        ),
        (
            {"text": "Правила: 1. пишем вежливо.", "note": "Номер не в начале строки"},
            "Пронумеруйте пункты правил: каждый пункт с новой строки, «1.», «2.» и так далее.",
        ),
        ({"text": NEW_RULES, "note": ""}, "Заполните это поле."),
        ({"text": NEW_RULES, "note": "  \u200b "}, "Заполните это поле."),
        ({"text": NEW_RULES}, "Заполните это поле."),
        ({"text": "", "note": "Пусто"}, "Заполните это поле."),
        ({"text": NEW_RULES, "note": "я" * 201}, "Не длиннее 200 символов."),
        ({"text": "1. " + "я" * 10_000, "note": "Длинно"}, "Не длиннее 10000 символов."),
    ],
    ids=[
        "no-numbers",
        "number-inside",
        "no-note",
        "blank-note",
        "note-missing",
        "no-text",
        "long-note",
        "long-text",
    ],
)
def test_bad_rules_are_refused_and_the_typed_text_stays(world, admin_client, data, error):
    response = admin_client.post("/admin/rules", data=data)

    assert response.status_code == 422
    assert error in field_errors(response)
    assert len(default_versions(world.kindergarten)) == 1
    if data.get("text"):
        assert textarea(response).strip()[:50] == data["text"][:50], "what was typed is not lost"


def test_control_characters_are_removed_from_rules(world, admin_client):
    response = admin_client.post(
        "/admin/rules",
        data={"text": "1. Пишем\u200b веж\u0007ливо.\u202e\n2. По делу.", "note": "Чистка\u0000"},
    )

    assert response.status_code == 303
    new = default_versions(world.kindergarten)[-1]
    assert new.text == "1. Пишем вежливо.\n2. По делу."
    assert new.note == "Чистка"


# --- the consent text -------------------------------------------------------------------------


def test_consent_page_shows_the_current_version(world, admin_client):
    response = admin_client.get("/admin/consent")

    assert response.status_code == 200
    body = page_text(response)
    assert "Версия 1" in body
    assert (
        textarea(response).strip()
        == DEFAULT_CONSENT.format(kindergarten=world.kindergarten.name).strip()
    )
    assert "регистрируется после её сохранения" in body
    assert "Кто, когда и какую версию принял — записано" in body


def test_change_consent_makes_a_new_version(world, admin_client):
    response = admin_client.post(
        "/admin/consent", data={"text": NEW_CONSENT.replace("\n", "\r\n") + "\r\n"}
    )

    assert response.status_code == 303, page_text(response)[:2000]
    assert response.location == "/admin/consent"
    versions = consent_versions(world.kindergarten)
    assert [v.version for v in versions] == [1, 2]
    assert versions[-1].text == NEW_CONSENT
    assert versions[-1].created_by_id == world.admin.id
    [log] = audit_rows("consent.changed")
    assert log.actor_id == world.admin.id
    assert log.target_type == "consenttext" and log.target_id == versions[-1].id
    assert log.details == {"version": 2}
    page = admin_client.get(response.location)
    assert flashes(page)[0].startswith("Версия 2 согласия сохранена.")
    body = page_text(page)
    assert "Прежние версии" in body
    assert textarea(page).strip() == NEW_CONSENT


@pytest.mark.parametrize("suffix", ["", "\n", "\r\n  \r\n"])
def test_unchanged_consent_is_refused(world, admin_client, suffix):
    current = consent_versions(world.kindergarten)[-1].text

    response = admin_client.post("/admin/consent", data={"text": current.strip() + suffix})

    assert response.status_code == 422
    assert field_errors(response) == ["Текст согласия не изменился."]
    assert len(consent_versions(world.kindergarten)) == 1
    assert audit_rows("consent.changed") == []


@pytest.mark.parametrize(
    "text,error",
    [
        ("", "Заполните это поле."),
        ("\u200b \u0007 ", "Заполните это поле."),
        ("я" * 20_001, "Не длиннее 20000 символов."),
    ],
    ids=["empty", "invisible", "long"],
)
def test_bad_consent_is_refused(world, admin_client, text, error):
    response = admin_client.post("/admin/consent", data={"text": text})

    assert response.status_code == 422
    assert error in field_errors(response)
    assert len(consent_versions(world.kindergarten)) == 1


def test_consent_page_counts_who_consented_to_each_version(world, admin_client):
    admin_client.post("/admin/consent", data={"text": NEW_CONSENT})
    version_2 = consent_versions(world.kindergarten)[-1]
    for name in ("Ольга Первая", "Ирина Вторая"):
        user = f.make_user(world.kindergarten, name)
        db.session.add(Consent(user_id=user.id, consent_text_id=version_2.id))
    db.session.commit()

    body = page_text(admin_client.get("/admin/consent"))

    # the director consented to version 1 at setup; two people to version 2
    assert re.search(r"Версия 2</span>.*?Приняли 2 человек", body, re.S)
    assert re.search(r"<summary>Версия 1 ·.*?· принял 1 человек</summary>", body)


def test_new_registrations_consent_to_the_new_version(world, admin_client, client):
    admin_client.post("/admin/consent", data={"text": NEW_CONSENT})
    version_2 = consent_versions(world.kindergarten)[-1]
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    open_link(client, invite)

    form = client.get("/join/staff")

    assert form.status_code == 200
    body = page_text(form)
    assert "(версия 2)" in body
    assert "Я даю согласие на обработку персональных данных." in body
    assert "Данные: имя и телефон." in body

    response = register(client)

    assert response.status_code == 303, page_text(response)[:2000]
    user = db.session.scalar(select(User).where(User.phone == "+79123456789"))
    consents = db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all()
    assert [c.consent_text_id for c in consents] == [version_2.id]


def test_rules_and_consent_of_another_kindergarten_are_untouched(world, admin_client):
    from .test_admin_groups import other_kindergarten

    other = other_kindergarten()
    foreign_rules = Rules(kindergarten_id=other.id, version=1, text="1. Чужие правила.")
    foreign_consent = ConsentText(kindergarten_id=other.id, version=1, text="Чужое согласие")
    db.session.add_all([foreign_rules, foreign_consent])
    db.session.commit()
    foreign_chat = f.make_chat(other, f.director_of(other), rules_id=foreign_rules.id)

    admin_client.post("/admin/rules", data={"text": NEW_RULES, "note": "Наши"})
    admin_client.post("/admin/consent", data={"text": NEW_CONSENT})

    assert [r.version for r in default_versions(other)] == [1]
    assert [c.version for c in consent_versions(other)] == [1]
    db.session.refresh(foreign_chat)
    assert foreign_chat.rules_id == foreign_rules.id
    assert "Чужие правила" not in page_text(admin_client.get("/admin/rules"))
    assert "Чужое согласие" not in page_text(admin_client.get("/admin/consent"))


# --- who may ---------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/rules", {}),
    ("POST", "/admin/rules", {"text": NEW_RULES, "note": "Чужими руками"}),
    ("GET", "/admin/consent", {}),
    ("POST", "/admin/consent", {"text": NEW_CONSENT}),
]


@pytest.mark.parametrize("persona", ["parent", "other_group_parent", "educator", "other_educator"])
@pytest.mark.parametrize("method,path,data", ROUTES)
def test_only_the_administration_may(world, as_user, persona, method, path, data):
    response = as_user(world.persona(persona)).open(path, method=method, data=data or None)

    assert response.status_code == 403
    assert len(default_versions(world.kindergarten)) == 1
    assert len(consent_versions(world.kindergarten)) == 1


@pytest.mark.parametrize("method,path,data", ROUTES)
def test_visitors_go_to_sign_in(world, client, method, path, data):
    response = client.open(path, method=method, data=data or None)

    assert response.status_code == 302
    assert "/login" in response.location
    assert len(default_versions(world.kindergarten)) == 1


def test_the_director_edits_too(world, director_client):
    assert (
        director_client.post("/admin/rules", data={"text": NEW_RULES, "note": "Д"}).status_code
        == 303
    )
    assert director_client.post("/admin/consent", data={"text": NEW_CONSENT}).status_code == 303
    assert [r.created_by_id for r in default_versions(world.kindergarten)][-1] == world.director.id
