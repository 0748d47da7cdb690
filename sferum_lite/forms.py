"""Forms: every field has a length limit and a message in the user's language."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from .exports import FORMULA_START
from .i18n import LANGUAGES, TIMEZONES, WEEKDAYS, from_local, select_timezone
from .models import DB_INT_MAX, POSITIONS, STAFF_INVITE_ROLES, utcnow
from .models.joining import MEETING_LINK_LONGEST
from .regulation import BLOCK_DURATIONS
from .roster import name_problem, tidy_name
from .security import clean_message, clean_text, parse_login, password_problem


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices WTForms wants."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def required():
    return DataRequired(message=_l("Заполните это поле."))


# --- numbers and dates from the outside: within what the database holds -------------------------

FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2100, 12, 31)


def db_int(value) -> int:
    """A whole number from a query string, `request.args.get(name, type=db_int)`: ValueError
    (so the default, None) for anything else, and for numbers no id can be."""
    number = int(value)
    if not 0 < number <= DB_INT_MAX:
        raise ValueError("not an id")
    return number


def fits_database(form, field):
    """An IntegerField's validator: an id or number the database can hold."""
    if field.data is not None and not 0 < field.data <= DB_INT_MAX:
        raise ValidationError(_l("Такого номера нет. Обновите страницу и попробуйте снова."))


def plausible_date(form, field):
    """A DateField's validator: 0001-01-01 or 9999-12-31 is a typo, and no time zone moves it."""
    if field.data is not None and not FIRST_DATE <= field.data <= LAST_DATE:
        raise ValidationError(_l("Укажите дату с 2000 по 2100 год."))


def max_length(n: int):
    return Length(max=n, message=_l("Не длиннее %(max)d символов."))


def not_formula(form, field):
    if field.data and field.data.startswith(FORMULA_START):
        raise ValidationError(_l("Не начинайте с символов = + - @."))


def person_name(form, field):
    if field.data and not field.data[0].isalpha():
        raise ValidationError(_l("Имя должно начинаться с буквы."))


def child_name(form, field):
    problem = name_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class Select(SelectField):
    """A drop-down whose refusal of an unknown value speaks plainly."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", _l("Выберите вариант из списка."))
        kwargs.setdefault("invalid_value_message", _l("Выберите вариант из списка."))
        super().__init__(*args, **kwargs)


class Radio(RadioField):
    """Radio buttons that refuse an unknown value plainly."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", _l("Выберите вариант из списка."))
        kwargs.setdefault("invalid_value_message", _l("Выберите вариант из списка."))
        super().__init__(*args, **kwargs)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", _l("Выберите вариант из списка."))
        super().__init__(*args, **kwargs)


class LoginField(StringField):
    """A phone number in any common Russian form, or an e-mail; `.parsed` after validation."""

    parsed: tuple[str, str] | None = None

    def pre_validate(self, form):
        self.parsed = parse_login(self.data or "")
        if self.data and self.parsed is None:
            if "@" in self.data:
                raise ValidationError(_l("Это не похоже на адрес e-mail."))
            raise ValidationError(
                _l(
                    "Это не похоже на номер телефона. Например: 8 912 345-67-89 или "
                    "+7 912 345-67-89."
                )
            )


class NewPasswordField(PasswordField):
    """A password being set: length and the common-password list are checked."""

    def post_validate(self, form, validation_stopped):
        if validation_stopped or not self.data:
            return
        login = getattr(getattr(form, "login", None), "data", "") or ""
        problem = password_problem(self.data, login=login)
        if problem:
            self.errors.append(problem)


def _name_field(label, limit=100, *extra):
    return StringField(
        label, filters=[clean_text], validators=[required(), max_length(limit), *extra]
    )


def _login_field():
    return LoginField(
        _l("Телефон или e-mail"), filters=[clean_text], validators=[required(), max_length(254)]
    )


def _consent_field():
    return BooleanField(
        _l("Я даю согласие на обработку персональных данных"),
        validators=[DataRequired(message=_l("Без согласия зарегистрироваться нельзя."))],
    )


class EmptyForm(FlaskForm):
    """For one-click POST buttons: just the CSRF token."""


class SetupForm(FlaskForm):
    kindergarten_name = _name_field(_l("Название детского сада"), 200, not_formula)
    timezone = Select(_l("Часовой пояс"), choices=options(TIMEZONES), default="Europe/Moscow")
    work_start = TimeField(
        _l("Начало рабочего дня"),
        default=time(7, 0),
        validators=[DataRequired(message=_l("Укажите время."))],
    )
    work_end = TimeField(
        _l("Конец рабочего дня"),
        default=time(19, 0),
        validators=[DataRequired(message=_l("Укажите время."))],
    )
    work_days = MultiCheckboxField(
        _l("Рабочие дни"), choices=options(WEEKDAYS), default=["1", "2", "3", "4", "5"]
    )
    director_name = _name_field(_l("Ваше имя и фамилия"), 100, person_name)
    login = _login_field()
    password = NewPasswordField(_l("Пароль"), validators=[required()])
    consent = _consent_field()

    def validate_work_end(self, field):
        if self.work_start.data and field.data and field.data <= self.work_start.data:
            raise ValidationError(_l("Конец рабочего дня должен быть позже начала."))

    def validate_work_days(self, field):
        if not field.data:
            raise ValidationError(_l("Отметьте хотя бы один рабочий день."))


class LoginForm(FlaskForm):
    login = StringField(
        _l("Телефон или e-mail"), filters=[clean_text], validators=[required(), max_length(254)]
    )
    password = PasswordField(_l("Пароль"), validators=[required(), max_length(1024)])
    next = HiddenField()


class ProfileForm(FlaskForm):
    name = _name_field(_l("Имя и фамилия"), 100, person_name)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Текущий пароль"), validators=[required(), max_length(1024)]
    )
    password = NewPasswordField(_l("Новый пароль"), validators=[required()])


class LanguageForm(FlaskForm):
    locale = Select(_l("Язык интерфейса"), choices=options(LANGUAGES.items()))
    next = HiddenField()


class GroupForm(FlaskForm):
    name = _name_field(_l("Название группы"), 60, not_formula)


class AttachEducatorForm(FlaskForm):
    educator_id = Select(_l("Педагог"), coerce=int, validate_choice=True)


class ChildForm(FlaskForm):
    # child_name checks the length (NAME_MAX) along with the letters
    last_name = StringField(_l("Фамилия"), filters=[tidy_name], validators=[child_name])
    first_name = StringField(_l("Имя"), filters=[tidy_name], validators=[child_name])
    group_id = Select(_l("Группа"), coerce=int)


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Файл CSV"), validators=[FileRequired(message=_l("Выберите файл."))])


class RosterConfirmForm(FlaskForm):
    content = HiddenField(validators=[required()])


EXPIRY_CHOICES = [("1", _l("1 день")), ("7", _l("7 дней")), ("30", _l("30 дней"))]
USES_CHOICES = [
    ("1", _l("Один человек")),
    ("5", _l("До 5 человек")),
    ("20", _l("До 20 человек")),
    ("0", _l("Без ограничения")),
]


class StaffInviteForm(FlaskForm):
    position = Select(_l("Должность"), choices=options(POSITIONS.items()), default="vospitatel")
    role = Select(_l("Роль"), choices=options(STAFF_INVITE_ROLES.items()), default="educator")
    expires = Select(_l("Ссылка действует"), choices=options(EXPIRY_CHOICES), default="7")
    max_uses = Select(
        _l("Сколько человек могут зарегистрироваться"), choices=options(USES_CHOICES), default="1"
    )


class PositionForm(FlaskForm):
    position = Select(_l("Должность"), choices=options(POSITIONS.items()))


class RegisterForm(FlaskForm):
    name = _name_field(_l("Имя и фамилия"), 100, person_name)
    login = _login_field()
    password = NewPasswordField(_l("Пароль"), validators=[required()])
    consent = _consent_field()


StaffRegisterForm = RegisterForm  # staff and parents register with the same fields


# --- chat invite links -----------------------------------------------------------------------

INVITE_LONGEST = timedelta(days=366)  # «до даты»: at most a year ahead

CHAT_EXPIRY_CHOICES = [
    ("1", _l("1 день")),
    ("2", _l("2 дня")),
    ("7", _l("7 дней")),
    ("30", _l("30 дней")),
    ("date", _l("До даты")),
]
# who lets a newcomer in: the educator (the default), or — at a meeting in the room — the link
CHAT_APPROVAL_CHOICES = [
    ("needed", _l("По одобрению воспитателя")),
    ("meeting", _l("Без одобрения — для собрания в группе, не дольше 48 часов")),
]
CHAT_USES_CHOICES = [
    ("0", _l("Без ограничения")),
    ("1", _l("Один человек")),
    ("5", _l("До 5 человек")),
    ("20", _l("До 20 человек")),
    ("50", _l("До 50 человек")),
]


def local_today() -> date:
    """Today in the kindergarten's time zone."""
    return datetime.now(ZoneInfo(select_timezone())).date()


class ChatInviteForm(FlaskForm):
    expires = RadioField(
        _l("Ссылка действует"),
        choices=options(CHAT_EXPIRY_CHOICES),
        default="7",
        invalid_choice_message=_l("Выберите вариант из списка."),
    )
    until = DateField(
        _l("Последний день"),
        format=["%Y-%m-%d", "%d.%m.%Y"],
        validators=[Optional()],
        invalid_value_message=_l("Укажите дату, например 31.05.2026."),
    )
    max_uses = Select(
        _l("Сколько человек могут вступить"), choices=options(CHAT_USES_CHOICES), default="0"
    )
    # a radio, not a checkbox: a POST without it (a forged one, the group page's poster button)
    # keeps the default — approval
    approval = RadioField(
        _l("Кто впускает новичков"),
        choices=options(CHAT_APPROVAL_CHOICES),
        default="needed",
        invalid_choice_message=_l("Выберите вариант из списка."),
    )

    @property
    def needs_approval(self) -> bool:
        return self.approval.data != "meeting"

    @staticmethod
    def date_bounds() -> tuple[date, date]:
        """The first and the last day a link may be made to last until."""
        today = local_today()
        return today, today + INVITE_LONGEST - timedelta(days=1)

    def validate_until(self, field):
        if self.expires.data != "date" or field.data is None:  # None: not a date (said already)
            return
        first, last = self.date_bounds()
        if field.data < first:
            raise ValidationError(_l("Эта дата уже прошла. Выберите сегодняшний день или позже."))
        if field.data > last:
            raise ValidationError(
                _l(
                    "Не дальше чем на год вперёд: выберите дату не позже %(date)s.",
                    date=last.strftime("%d.%m.%Y"),
                )
            )

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.expires.data != "date":
            self.until.errors = []  # the date is read for «до даты» only
        elif self.until.data is None and not self.until.errors:
            self.until.errors = [_l("Укажите последний день, когда ссылка действует.")]
        if (
            not self.needs_approval
            and not self.expires.errors
            and not self.until.errors
            and self.expires_at() > utcnow() + MEETING_LINK_LONGEST
        ):
            self.expires.errors = [
                _l(
                    "Ссылка без одобрения — для собрания в группе — действует не дольше "
                    "48 часов. Выберите «1 день» или «2 дня» либо впускайте новичков сами "
                    "(по одобрению воспитателя)."
                )
            ]
        return not self.form_errors and not any(field.errors for field in self)

    def expires_at(self) -> datetime:
        """UTC: the end of the chosen day in the kindergarten's zone, or N days from now."""
        if self.expires.data == "date":
            return from_local(datetime.combine(self.until.data, time(23, 59, 59)))
        return utcnow() + timedelta(days=int(self.expires.data))

    def uses(self) -> int | None:
        return int(self.max_uses.data) or None


# --- joining a chat by an invite link, and chat rules ------------------------------------------

RULES_MAX = 10_000


class JoinChildForm(FlaskForm):
    """The parent names their child; it is matched against the roster, never shown."""

    # child_name checks the length and the letters; Latin look-alikes pass and are matched
    last_name = StringField(_l("Фамилия ребёнка"), filters=[tidy_name], validators=[child_name])
    first_name = StringField(_l("Имя ребёнка"), filters=[tidy_name], validators=[child_name])


class AcceptRulesForm(FlaskForm):
    rules_id = IntegerField(widget=HiddenInput(), validators=[required(), fits_database])


class AdmitForm(FlaskForm):
    child_id = Select(_l("Ребёнок"), coerce=int, choices=[])


class SeenUptoForm(FlaskForm):
    """«Понятно» under a list of notices: the newest one shown (a later one stays)."""

    upto = IntegerField(widget=HiddenInput(), validators=[required(), fits_database])


class DeclineForm(FlaskForm):
    reason = StringField(
        _l("Причина — её увидит человек, подавший заявку"),
        filters=[clean_text],
        validators=[required(), max_length(300)],
    )


def numbered_clauses(form, field):
    """Rules are numbered clauses, so a moderator can name «п. 3»."""
    if field.data and not re.search(r"^\s*1[.)]\s", field.data, re.M):
        raise ValidationError(
            _l("Пронумеруйте пункты правил: каждый пункт с новой строки, «1.», «2.» и так далее.")
        )


class RulesForm(FlaskForm):
    text = TextAreaField(
        _l("Правила"),
        filters=[clean_message],
        validators=[
            required(),
            Length(max=RULES_MAX, message=_l("Не длиннее %(max)d символов.")),
            numbered_clauses,
        ],
    )
    note = StringField(
        _l("Что изменилось"),
        filters=[clean_text],
        validators=[required(), max_length(200)],
        description=_l("Коротко, например: «Добавлен пункт о фотографиях детей»."),
    )


# --- chats ------------------------------------------------------------------------------------

MESSAGE_MAX = 4000
CHAT_KINDS = {"group": _l("Чат (пишут все)"), "channel": _l("Канал (пишут сотрудники)")}


class ChatTitleForm(FlaskForm):
    title = _name_field(_l("Название"), 100)


class NewChatForm(FlaskForm):
    template = Select(_l("Что создать"), choices=[])
    title = StringField(
        _l("Название"),
        filters=[clean_text],
        validators=[Optional(), max_length(100)],
        description=_l("Можно оставить пустым: название возьмётся из шаблона."),
    )


class AddMembersForm(FlaskForm):
    users = MultiCheckboxField(_l("Кого добавить"), coerce=int, choices=[])

    def validate_users(self, field):
        if not field.data:
            raise ValidationError(_l("Отметьте хотя бы одного человека."))


CLIENT_TOKEN_MAX = 64
BAD_CLIENT_TOKEN = _l(
    "Форма отправки устарела или повреждена. Сообщение не отправлено — отправьте его ещё раз."
)


class MessageForm(FlaskForm):
    """A message: text, or photos and files, or a poll — at least one of them."""

    text = TextAreaField(
        _l("Сообщение"),
        filters=[clean_message],
        validators=[
            Length(max=MESSAGE_MAX, message=_l("Не длиннее %(max)d символов.")),
        ],
    )
    reply_to = IntegerField(widget=HiddenInput(), validators=[Optional(), fits_database])
    important = BooleanField(_l("Важное: попросить подтвердить «Ознакомлен(а)»"))
    # no Optional() on the two poll fields: it would stop the checks below when one of them is
    # left empty while the other is filled in
    poll_question = StringField(_l("Вопрос"), filters=[clean_text], validators=[max_length(300)])
    poll_options = TextAreaField(
        _l("Варианты ответа, каждый с новой строки"),
        validators=[Length(max=2000, message=_l("Не длиннее %(max)d символов."))],
    )
    poll_multiple = BooleanField(_l("Можно выбрать несколько"))
    poll_anonymous = BooleanField(_l("Анонимный опрос"))
    poll_closes = DateTimeLocalField(
        _l("Принимать ответы до"),
        validators=[Optional()],
        render_kw={"step": 60},
    )
    # made for each message by the composer (app.js) or the server: the same post sent again
    # with it is the same message (actions.messages.do_post_message)
    client_token = HiddenField(
        validators=[
            Optional(),
            Length(max=CLIENT_TOKEN_MAX, message=BAD_CLIENT_TOKEN),
            Regexp(r"^[A-Za-z0-9_-]+\Z", message=BAD_CLIENT_TOKEN),
        ],
    )

    def options(self) -> list[str]:
        lines = (clean_text(line) for line in (self.poll_options.data or "").splitlines())
        return [line for line in lines if line]

    def has_poll(self) -> bool:
        return bool(self.poll_question.data or self.options())

    def validate_poll_question(self, field):
        if not self.has_poll():
            return
        if not field.data:
            raise ValidationError(_l("Напишите вопрос опроса."))

    def validate_poll_options(self, field):
        if not self.has_poll():
            return
        options = self.options()
        if len(options) < 2:
            raise ValidationError(_l("В опросе нужно хотя бы два варианта ответа."))
        if len(options) > 10:
            raise ValidationError(_l("В опросе может быть не больше 10 вариантов."))
        if any(len(option) > 100 for option in options):
            raise ValidationError(_l("Вариант ответа — не длиннее 100 символов."))
        if len(set(options)) != len(options):
            raise ValidationError(_l("Варианты ответа повторяются."))

    def validate_poll_closes(self, field):
        if self.has_poll() and field.data and from_local(field.data) <= utcnow():
            raise ValidationError(_l("Срок опроса уже прошёл: выберите время в будущем."))


class EditMessageForm(FlaskForm):
    text = TextAreaField(
        _l("Сообщение"),
        filters=[clean_message],
        validators=[
            required(),
            Length(max=MESSAGE_MAX, message=_l("Не длиннее %(max)d символов.")),
        ],
    )


class ReactionForm(FlaskForm):
    emoji = StringField(validators=[required(), max_length(16)])


class VoteForm(FlaskForm):
    options = SelectMultipleField(coerce=int, choices=[], validate_choice=False)


class ReadForm(FlaskForm):
    last = IntegerField(validators=[required(), fits_database])


# --- admin texts and invites ---

CONSENT_MAX = 20_000
ANNUL_MAX = 1000  # ids in one request; a page lists far fewer live invites


class DefaultRulesForm(RulesForm):
    """The kindergarten's default chat rules: the same checks as a chat's own rules."""


class ConsentTextForm(FlaskForm):
    text = TextAreaField(
        _l("Текст согласия"),
        filters=[clean_message],
        validators=[
            required(),
            Length(max=CONSENT_MAX, message=_l("Не длиннее %(max)d символов.")),
        ],
    )


class IdListField(SelectMultipleField):
    """The ids of checked rows: positive whole numbers; anything else is refused plainly (not
    with WTForms' English message, and never as a number too big for the database)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        kwargs.setdefault("choices", [])
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        self.data = []
        if len(valuelist) > ANNUL_MAX:
            raise ValueError(_l("Отмечено слишком много строк: не больше %(max)d.", max=ANNUL_MAX))
        for value in valuelist:
            value = (value or "").strip()
            if not (value.isascii() and value.isdigit() and len(value) <= 10) or not (
                0 < int(value) <= DB_INT_MAX
            ):
                self.data = []
                raise ValueError(
                    _l("Отмеченные строки не прочитались. Обновите страницу и попробуйте снова.")
                )
            self.data.append(int(value))


class AnnulInvitesForm(FlaskForm):
    chat = IdListField()
    staff = IdListField()
    all_unused = BooleanField()

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if not (self.all_unused.data or self.chat.data or self.staff.data):
            self.form_errors.append(
                _l(
                    "Ничего не выбрано: отметьте приглашения, которые нужно аннулировать, "
                    "или нажмите «Аннулировать все неиспользованные»."
                )
            )
            return False
        return True


# --- moderation (reg 004 §20–27) ----------------------------------------------------------------

NOTE_MAX = 300
APOLOGY_MAX = 1000


def _clause_field():
    """A clause of the chat's rules; the view gives the choices (the current version's)."""
    return Radio(
        _l("Какой пункт правил нарушен"),
        coerce=int,
        choices=[],
        validators=[DataRequired(message=_l("Выберите пункт правил."))],
    )


def _note_field(label=None):
    return StringField(
        label or _l("Комментарий (необязательно)"),
        filters=[clean_text],
        validators=[max_length(NOTE_MAX)],
    )


class ClauseChoices:
    """A form whose `clause` field offers the clauses of a chat's rules."""

    def with_clauses(self, choices):
        self.clause.choices = options(choices)
        return self


class DeleteMessageForm(ClauseChoices, FlaskForm):
    clause = _clause_field()
    note = _note_field()
    violation = BooleanField(_l("Записать автору нарушение по этому пункту"), default=True)


class ViolationForm(ClauseChoices, FlaskForm):
    clause = _clause_field()
    note = _note_field()


class BlockForm(ClauseChoices, FlaskForm):
    # a crafted POST names its term: the week is only what the page offers first
    duration = Radio(
        _l("На какой срок"),
        choices=options(BLOCK_DURATIONS.items()),
        validators=[DataRequired(message=_l("Выберите срок."))],
    )
    clause = _clause_field()
    note = _note_field()


class RemindForm(FlaskForm):
    """«Напомнить правила»: to the whole chat, or addressed to a member."""

    member = IntegerField(widget=HiddenInput(), validators=[Optional(), fits_database])
    next = HiddenField(validators=[Optional(), Length(max=500)])  # where to come back to


class ReportForm(FlaskForm):
    reason = _note_field(_l("Что не так (необязательно)"))


class ApologyForm(FlaskForm):
    text = TextAreaField(
        _l("Извинение участникам чата"),
        filters=[clean_message],
        validators=[required(), max_length(APOLOGY_MAX)],
    )


RESOLUTIONS = options(
    [
        ("deleted", _l("Удалить сообщение")),
        ("violation", _l("Записать нарушение автору")),
        ("no_action", _l("Оставить без мер")),
    ]
)


class ResolveReportForm(ClauseChoices, FlaskForm):
    resolution = Radio(
        _l("Решение"),
        choices=RESOLUTIONS,
        validators=[DataRequired(message=_l("Выберите решение."))],
    )
    # needed for a deletion or a violation only, so it is checked here rather than required
    clause = Radio(_l("Пункт правил"), coerce=int, choices=[], validate_choice=False)
    note = _note_field()

    def validate_clause(self, field):
        if self.resolution.data in ("deleted", "violation") and not field.data:
            raise ValidationError(_l("Удаление и нарушение называют пункт правил."))
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Выберите вариант из списка."))


class ModeratorForm(FlaskForm):
    value = HiddenField(validators=[max_length(1)])


class DismissForm(FlaskForm):
    successor = Select(
        _l("Кому передать чаты, которые вёл сотрудник"), coerce=int, choices=[], default=0
    )


class LogFilterForm(FlaskForm):
    """The moderation log's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    chat = Select(_l("Чат"), coerce=int, choices=[], validators=[Optional()])
    actor = Select(_l("Кто"), coerce=int, choices=[], validators=[Optional()])
    member = Select(_l("Участник"), coerce=int, choices=[], validators=[Optional()])
    action = Select(_l("Действие"), choices=[], validators=[Optional()])
    since = DateField(
        _l("С"), validators=[Optional(), plausible_date], format=["%Y-%m-%d", "%d.%m.%Y"]
    )
    until = DateField(
        _l("По"), validators=[Optional(), plausible_date], format=["%Y-%m-%d", "%d.%m.%Y"]
    )

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("Конец периода раньше начала."))


class ApologyWindowForm(FlaskForm):
    hours = IntegerField(
        _l("Сколько часов после извинения участники могут возразить"),
        validators=[
            DataRequired(message=_l("Укажите число часов.")),
            NumberRange(min=1, max=168, message=_l("От 1 до 168 часов (неделя).")),
        ],
    )


MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
MONTH_FORMAT_MESSAGE = _l("Укажите месяц в виде ГГГГ-ММ, например 2026-11.")


class ReportMonthForm(FlaskForm):
    """The month of the usage report (a GET form: no CSRF token). `latest` is the current
    month in the kindergarten's zone; a later month has no figures yet."""

    class Meta:
        csrf = False

    month = StringField(
        _l("Месяц"), validators=[Optional(), Length(max=7, message=MONTH_FORMAT_MESSAGE)]
    )

    def __init__(self, *args, latest: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.latest = latest
        self.first: date = latest

    def validate_month(self, field):
        if not field.data or field.errors:  # too long: said already
            return
        found = MONTH_PATTERN.fullmatch(field.data.strip())
        if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 2000:
            raise ValidationError(MONTH_FORMAT_MESSAGE)
        first = date(int(found[1]), int(found[2]), 1)
        if first > self.latest:
            raise ValidationError(
                _l("Этот месяц ещё не наступил: отчёт составляется за текущий или прошедший месяц.")
            )
        self.first = first


class DeleteAccountForm(FlaskForm):
    """Deleting one's own account: the password again, and the word typed out."""

    password = PasswordField(_l("Пароль"), validators=[required(), Length(max=200)])
    confirm = StringField(_l("Напишите слово УДАЛИТЬ"), validators=[required(), Length(max=20)])

    def validate_confirm(self, field):
        if field.data.strip().casefold() not in ("удалить", "delete"):
            raise ValidationError(_l("Напишите слово УДАЛИТЬ, чтобы подтвердить удаление."))


# --- password recovery (issue 13 §6) -------------------------------------------------------------


class ResetLinkForm(FlaskForm):
    """«Сбросить пароль» on a person's card; `next` is the card, to come back to."""

    next = HiddenField(validators=[max_length(500)])


class ForgotPasswordForm(FlaskForm):
    login = _login_field()


class PasswordResetForm(FlaskForm):
    """A new password set through a reset link: the rules of registration and «Изменить
    пароль» (length, common passwords, not the person's own phone or e-mail), typed twice."""

    password = PasswordField(_l("Новый пароль"), validators=[required(), max_length(1024)])
    confirm = PasswordField(_l("Новый пароль ещё раз"), validators=[required(), max_length(1024)])

    def __init__(self, *args, login: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.login_of_person = login

    def validate_password(self, field):
        problem = password_problem(field.data, login=self.login_of_person)
        if problem:
            raise ValidationError(problem)

    def validate_confirm(self, field):
        if self.password.data and field.data != self.password.data:
            raise ValidationError(_l("Пароли не совпадают. Введите новый пароль ещё раз."))
