"""A lived-in demo kindergarten for `flask seed-demo`: groups, staff, children, parents.

Deterministic (a fixed random seed) except for the password, which is new on every run and
printed: there are no default passwords, ever.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import time, timedelta

from sqlalchemy import select

from .actions.audit import record
from .actions.invites import new_chat_token
from .actions.memberships import join_system_chats
from .actions.rules import accept, give_rules
from .actions.setup import create_system_chats
from .extensions import db
from .models import (
    Chat,
    ChatInvite,
    ChatMember,
    Child,
    Consent,
    ConsentText,
    Group,
    GroupEducator,
    Kindergarten,
    Message,
    ModerationEntry,
    ParentChild,
    Poll,
    PollOption,
    Rules,
    StaffInvite,
    User,
    Violation,
    utcnow,
)
from .regulation import clause_ground, clauses
from .roster import name_key
from .security import hash_password
from .texts import DEFAULT_CONSENT

KINDERGARTEN = "Детский сад № 5 «Ромашка»"
GROUPS = ["Солнышко", "Капелька", "Звёздочки"]

# (name, phone, position or None for the director, admin, verified, group index or None)
STAFF = [
    ("Ольга Николаевна Смирнова", "+79120000001", None, True, True, None),
    ("Елена Викторовна Кузнецова", "+79120000002", "zamestitel", True, True, None),
    ("Анна Сергеевна Павлова", "+79120000003", "vospitatel", False, True, 0),
    ("Марина Игоревна Волкова", "+79120000004", "vospitatel", False, True, 1),
    ("Татьяна Андреевна Соколова", "+79120000005", "vospitatel", False, True, 2),
    ("Ирина Петровна Лебедева", "+79120000006", "muzruk", False, False, None),
]

# surname stems: (masculine, feminine)
SURNAMES = [
    ("Иванов", "Иванова"),
    ("Петров", "Петрова"),
    ("Сидоров", "Сидорова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
    ("Алексеев", "Алексеева"),
    ("Лебедев", "Лебедева"),
    ("Семёнов", "Семёнова"),
    ("Егоров", "Егорова"),
    ("Павлов", "Павлова"),
    ("Козлов", "Козлова"),
    ("Степанов", "Степанова"),
    ("Николаев", "Николаева"),
    ("Орлов", "Орлова"),
    ("Андреев", "Андреева"),
    ("Макаров", "Макарова"),
    ("Никитин", "Никитина"),
    ("Захаров", "Захарова"),
    ("Зайцев", "Зайцева"),
    ("Соловьёв", "Соловьёва"),
    ("Борисов", "Борисова"),
    ("Яковлев", "Яковлева"),
    ("Григорьев", "Григорьева"),
    ("Романов", "Романова"),
    ("Воробьёв", "Воробьёва"),
    ("Сергеев", "Сергеева"),
    ("Кириллов", "Кириллова"),
    ("Белов", "Белова"),
    ("Тарасов", "Тарасова"),
    ("Белоусов", "Белоусова"),
    ("Комаров", "Комарова"),
    ("Гусев", "Гусева"),
    ("Медведев", "Медведева"),
    ("Антонов", "Антонова"),
]
BOYS = [
    "Артём",
    "Михаил",
    "Александр",
    "Матвей",
    "Максим",
    "Иван",
    "Марк",
    "Лев",
    "Тимофей",
    "Дмитрий",
    "Роман",
    "Егор",
    "Фёдор",
    "Кирилл",
    "Даниил",
    "Платон",
]
GIRLS = [
    "София",
    "Анна",
    "Мария",
    "Ева",
    "Виктория",
    "Алиса",
    "Варвара",
    "Полина",
    "Василиса",
    "Александра",
    "Милана",
    "Вероника",
    "Ульяна",
    "Дарья",
    "Таисия",
    "Злата",
]
MOTHERS = [
    "Екатерина",
    "Ольга",
    "Наталья",
    "Юлия",
    "Анастасия",
    "Светлана",
    "Ирина",
    "Татьяна",
    "Елена",
    "Ксения",
    "Дарья",
    "Евгения",
    "Алёна",
    "Надежда",
]
FATHERS = [
    "Алексей",
    "Сергей",
    "Андрей",
    "Дмитрий",
    "Павел",
    "Николай",
    "Евгений",
    "Владимир",
    "Игорь",
    "Денис",
    "Антон",
    "Виталий",
]
CHILDREN_PER_GROUP = 13


@dataclass
class DemoLogins:
    password: str
    director: str
    admin: str
    educator: str
    unverified: str
    parent: str
    parent_two_children: str
    educator_parent: str


def seed(password: str | None = None) -> DemoLogins:
    """Fill an empty database. The caller has checked that it is empty."""
    rng = random.Random(5)
    password = password or secrets.token_urlsafe(9)
    password_hash = hash_password(password)
    now = utcnow()

    kindergarten = Kindergarten(
        name=KINDERGARTEN,
        timezone="Europe/Moscow",
        work_start=time(7, 0),
        work_end=time(19, 0),
        work_days="12345",
    )
    db.session.add(kindergarten)
    db.session.flush()
    consent = ConsentText(
        kindergarten_id=kindergarten.id,
        version=1,
        text=DEFAULT_CONSENT.format(kindergarten=KINDERGARTEN),
    )
    db.session.add(consent)
    groups = [Group(kindergarten_id=kindergarten.id, name=name) for name in GROUPS]
    db.session.add_all(groups)
    db.session.flush()

    def person(name, phone, **fields):
        user = User(
            kindergarten_id=kindergarten.id,
            name=name,
            phone=phone,
            password_hash=password_hash,
            **fields,
        )
        db.session.add(user)
        db.session.flush()
        db.session.add(Consent(user_id=user.id, consent_text_id=consent.id))
        return user

    staff = []
    for name, phone, position, admin, verified, group_index in STAFF:
        user = person(
            name,
            phone,
            is_director=position is None,
            is_admin=admin and position is not None,
            position=position,
            verified_at=now if verified and position else None,
        )
        staff.append(user)
        if group_index is not None:
            db.session.add(GroupEducator(group_id=groups[group_index].id, user_id=user.id))
    director = staff[0]
    create_system_chats(kindergarten, director)
    for user in staff[1:]:
        if user.verified_at is not None:  # the unverified one waits outside the staff chats
            join_system_chats(user)

    surnames = rng.sample(SURNAMES, len(SURNAMES))
    phone_numbers = iter(range(9161000000, 9170000000, 7919))
    families = []
    for index, group in enumerate(groups):
        for n in range(CHILDREN_PER_GROUP):
            male, female = surnames[(index * CHILDREN_PER_GROUP + n) % len(surnames)]
            boy = rng.random() < 0.5
            first = rng.choice(BOYS if boy else GIRLS)
            last = male if boy else female
            child = Child(
                kindergarten_id=kindergarten.id,
                group_id=group.id,
                last_name=last,
                first_name=first,
                name_key=name_key(last, first),
            )
            db.session.add(child)
            families.append((child, male, female))
    db.session.flush()

    parents = []
    for number, (child, male, female) in enumerate(families):
        mother = person(f"{rng.choice(MOTHERS)} {female}", f"+7{next(phone_numbers)}")
        db.session.add(ParentChild(user_id=mother.id, child_id=child.id))
        parents.append(mother)
        if number % 4 == 0:  # a quarter of the families have both parents in the app
            father = person(f"{rng.choice(FATHERS)} {male}", f"+7{next(phone_numbers)}")
            db.session.add(ParentChild(user_id=father.id, child_id=child.id))

    # a younger sibling in «Капелька»: the first mother of «Солнышко» has two children
    older, male, female = families[0]
    sibling = Child(
        kindergarten_id=kindergarten.id,
        group_id=groups[1].id,
        last_name=female,
        first_name="Ульяна",
        name_key=name_key(female, "Ульяна"),
    )
    db.session.add(sibling)
    db.session.flush()
    db.session.add(ParentChild(user_id=parents[0].id, child_id=sibling.id))
    # the educator of «Капелька» is also a mother: her daughter is in «Звёздочки»
    educator_parent = staff[3]
    daughter = Child(
        kindergarten_id=kindergarten.id,
        group_id=groups[2].id,
        last_name="Волкова",
        first_name="Алиса",
        name_key=name_key("Волкова", "Алиса"),
    )
    db.session.add(daughter)
    db.session.flush()
    db.session.add(ParentChild(user_id=educator_parent.id, child_id=daughter.id))

    db.session.add(
        StaffInvite(
            kindergarten_id=kindergarten.id,
            token=secrets.token_urlsafe(32),
            position="pomoshnik",
            expires_at=now + timedelta(days=7),
            max_uses=1,
            created_by_id=staff[1].id,
        )
    )
    _group_chats(kindergarten, groups, now)
    record(director, "demo.seeded", kindergarten)
    db.session.commit()
    return DemoLogins(
        password=password,
        director=director.phone,
        admin=staff[1].phone,
        educator=staff[2].phone,
        unverified=staff[5].phone,
        parent=parents[1].phone,
        parent_two_children=parents[0].phone,
        educator_parent=educator_parent.phone,
    )


DEMO_MESSAGES = (
    # (author: "educator" or the index of a parent in the group, text, important)
    ("educator", "Добрый день, родители! Это чат нашей группы. Пишите сюда общие вопросы.", False),
    (0, "Здравствуйте! Спасибо, что создали чат.", False),
    (
        "educator",
        "В четверг в 10:00 — осенний утренник. Приходите к 9:45, с собой сменная обувь.",
        True,
    ),
    (1, "Можно ли снимать утренник на телефон?", False),
    ("educator", "Да, конечно. Фото с утренника выложим сюда же.", False),
)


def _moderation_example(chat, educator, parent, at) -> None:
    """An advert deleted under clause 3 with a violation, and a reminder of the rules — what
    the moderation log and a member's card look like (reg 004 §21, §23)."""
    rules = db.session.get(Rules, chat.rules_id)
    clause = 3
    ground = clause_ground(clause, clauses(rules.text)[clause])
    chat.rev += 1
    advert = Message(
        chat_id=chat.id,
        author_id=parent.id,
        text="Продаю детскую коляску, почти новая, недорого! Пишите в личку.",
        rev=chat.rev,
        created_rev=chat.rev,
        created_at=at,
        deleted_at=at + timedelta(minutes=5),
        deleted_by_id=educator.id,
        deleted_clause=clause,
    )
    chat.rev += 1
    reminder = Message(
        chat_id=chat.id,
        author_id=educator.id,
        kind="reminder",
        subject_id=parent.id,
        rev=chat.rev,
        created_rev=chat.rev,
        created_at=at + timedelta(minutes=6),
    )
    db.session.add_all([advert, reminder])
    db.session.flush()
    db.session.add(
        Violation(
            chat_id=chat.id,
            user_id=parent.id,
            rules_id=rules.id,
            clause=clause,
            message_id=advert.id,
            created_by_id=educator.id,
            created_at=advert.deleted_at,
        )
    )
    for action, message, when in (
        ("violation", advert, advert.deleted_at),
        ("delete", advert, advert.deleted_at),
        ("reminder", reminder, reminder.created_at),
    ):
        db.session.add(
            ModerationEntry(
                kindergarten_id=chat.kindergarten_id,
                chat_id=chat.id,
                actor_id=educator.id,
                action=action,
                member_id=parent.id,
                message_id=message.id,
                rules_id=rules.id,
                clause=None if action == "reminder" else clause,
                ground="" if action == "reminder" else ground,
                created_at=when,
            )
        )
    chat.last_message_id = reminder.id


def _group_chats(kindergarten, groups, now) -> None:
    """Each group's parents' chat with its educators and the parents; a short conversation
    and a poll in the first one."""
    for index, group in enumerate(groups):
        educators = db.session.scalars(
            select(User)
            .join(GroupEducator, GroupEducator.user_id == User.id)
            .where(GroupEducator.group_id == group.id)
            .order_by(User.id)
        ).all()
        if not educators:
            continue
        parents = db.session.scalars(
            select(User)
            .join(ParentChild, ParentChild.user_id == User.id)
            .join(Child, Child.id == ParentChild.child_id)
            .where(Child.group_id == group.id)
            .distinct()
            .order_by(User.id)
        ).all()
        chat = Chat(
            kindergarten_id=kindergarten.id,
            kind="group",
            title=f"Родители группы «{group.name}»",
            group_id=group.id,
            created_by_id=educators[0].id,
            last_activity_at=now,
        )
        give_rules(chat)
        db.session.add(chat)
        db.session.flush()
        for user in [*educators, *parents]:
            member = ChatMember(chat_id=chat.id, user_id=user.id, is_moderator=user in educators)
            db.session.add(member)
            accept(member, chat.rules_id)
        db.session.add(  # a link for the group's notice board
            ChatInvite(
                kindergarten_id=kindergarten.id,
                chat_id=chat.id,
                token=new_chat_token(),
                created_by_id=educators[0].id,
                expires_at=now + timedelta(days=30),
            )
        )
        if index != 0:
            continue
        start = now - timedelta(hours=len(DEMO_MESSAGES) + 1)
        for number, (who, text, important) in enumerate(DEMO_MESSAGES):
            author = educators[0] if who == "educator" else parents[who]
            chat.rev += 1
            message = Message(
                chat_id=chat.id,
                author_id=author.id,
                text=text,
                important=important,
                rev=chat.rev,
                created_rev=chat.rev,
                created_at=start + timedelta(hours=number),
            )
            db.session.add(message)
            db.session.flush()
            chat.last_message_id = message.id
        _moderation_example(chat, educators[0], parents[2], now - timedelta(minutes=50))
        chat.rev += 1
        message = Message(
            chat_id=chat.id,
            author_id=educators[0].id,
            rev=chat.rev,
            created_rev=chat.rev,
            created_at=now - timedelta(minutes=30),
        )
        db.session.add(message)
        db.session.flush()
        poll = Poll(message_id=message.id, question="Кто придёт на утренник?")
        db.session.add(poll)
        db.session.flush()
        for position, option in enumerate(("Мама", "Папа", "Оба родителя", "Не сможем")):
            db.session.add(PollOption(poll_id=poll.id, position=position, text=option))
        chat.last_message_id = message.id
