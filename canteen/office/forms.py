"""Back-office forms (Flask-WTF: CSRF on every POST, errors shown beside each field)."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
import secrets

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..clock import clock
from ..vocabulary import (
    CATEGORIES,
    CHANGE_KIND_NAMES,
    DECISION_NAMES,
    ROLE_NAMES,
    SUGGESTION_KINDS,
    SUGGESTION_VENUES,
)
from .accounts import ROLES, validate_new_password


def printable(value):
    """Form text without control characters (NUL breaks PostgreSQL, others break SVG/XML)."""
    if not isinstance(value, str):
        return value
    return "".join(c for c in value if c.isprintable() or c == " ").strip()


class CleanStringField(StringField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = printable(self.data)


class MultiCheckboxField(SelectMultipleField):
    """Large checkboxes instead of a multi-select a gloved hand cannot use."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices():
    return [(r, ROLE_NAMES[r]) for r in ROLES]


class LoginForm(FlaskForm):
    username = CleanStringField(_l("User name"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def strong_password(form, field):
    username = getattr(form, "username", None)
    problem = validate_new_password(username.data if username and username.data else "", field.data or "")
    if problem:
        raise ValidationError(problem)


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200), strong_password])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))])


class SwitchForm(FlaskForm):
    username = RadioField(_l("Who are you?"), choices=[], validators=[DataRequired()])
    secret = PasswordField(_l("PIN or password"), validators=[DataRequired(), Length(max=200)])


class PinForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    pin = PasswordField(_l("New PIN (4 to 6 digits; leave empty to remove your PIN)"),
                        validators=[Optional(), Length(max=6)])


class DishForm(FlaskForm):
    name_zh = CleanStringField(_l("Chinese name"), validators=[DataRequired(), Length(max=60)])
    name_en = CleanStringField(_l("English name"), validators=[DataRequired(), Length(max=80)])
    price = DecimalField(_l("Price (yuan)"), places=2, validators=[
        InputRequired(message=_l("Enter a price, e.g. 8 or 12.50.")),
        NumberRange(min=Decimal("0"), max=Decimal("9999"), message=_l("A price is between 0 and 9999 yuan."))])
    category = SelectField(_l("Category"), choices=[])
    photo = FileField(_l("Photo (JPEG, PNG, WebP or GIF, at most 5 MB)"))
    trial_start = DateField(_l("On trial from"), validators=[Optional()])
    trial_end = DateField(_l("On trial until"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [(k, v) for k, v in CATEGORIES.items()]

    def validate_price(self, field):
        if field.data is not None and (not field.data.is_finite() or abs(field.data) > 9999):
            # NumberRange has said so already; quantize would raise on a 400-digit number
            raise ValidationError(_l("A price is between 0 and 9999 yuan."))
        if field.data is not None and field.data != field.data.quantize(Decimal("0.01")):
            raise ValidationError(_l("At most two decimals (fen)."))

    def validate_trial_start(self, field):
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Give a date between 2000 and 2100."))

    def validate_trial_end(self, field):
        self.validate_trial_start(field)
        if field.data and not self.trial_start.data:
            raise ValidationError(_l("Give the first day of the trial too."))
        if field.data and self.trial_start.data and field.data < self.trial_start.data:
            raise ValidationError(_l("The trial cannot end before it starts."))


class MenuForm(FlaskForm):
    dishes = MultiCheckboxField(_l("Dishes"), coerce=int, choices=[])


# A user name as the accounts form takes it; create-user checks the same, so that every account
# the command line makes can be edited (disabled, its roles changed) on the accounts page.
USERNAME_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"


class UserForm(FlaskForm):
    username = CleanStringField(_l("User name"), validators=[
        DataRequired(), Length(max=40),
        Regexp(USERNAME_PATTERN, message=_l("Letters, digits, dot, dash and underscore only."))])
    display_name = CleanStringField(_l("Full name"), validators=[Optional(), Length(max=80)])
    roles = MultiCheckboxField(_l("Roles"), choices=[],
                               validators=[DataRequired(message=_l("Choose at least one role."))])
    active = BooleanField(_l("Account enabled"), default=True)
    password = PasswordField(_l("New password (leave empty to keep)"),
                             validators=[Optional(), Length(max=200), strong_password])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles.choices = role_choices()


class KioskForm(FlaskForm):
    name = CleanStringField(_l("Kiosk name"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[\w.-]+$", message=_l("Letters, digits, dot, dash and underscore only."))])
    location = CleanStringField(_l("Location"), validators=[Optional(), Length(max=80)])


class TokenForm(FlaskForm):
    name = CleanStringField(_l("Token name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class CardForm(FlaskForm):
    label = CleanStringField(_l("Card label (e.g. Table 12)"), validators=[DataRequired(), Length(max=80)])
    location = CleanStringField(_l("Location"), validators=[Optional(), Length(max=80)])
    dish = SelectField(_l("Dish"), coerce=int, choices=[])


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""


class PairForm(FlaskForm):
    code = CleanStringField(_l("Pairing code"), validators=[DataRequired(), Length(min=8, max=8)])


class TrialDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[])
    note = CleanStringField(_l("Note (shown on the kiosk)"), validators=[Optional(), Length(max=200)])
    announce = BooleanField(_l("Show on the kiosk's idle screen"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [(k, DECISION_NAMES[k]) for k in ("keep", "improve", "drop")]


class DishChangeForm(FlaskForm):
    day = DateField(_l("Changed from (service day)"), validators=[InputRequired(message=_l("Give the first day."))])
    kind = SelectField(_l("What changed"), choices=[])
    note = CleanStringField(_l("Note (shown on the kiosk)"), validators=[Optional(), Length(max=200)])
    announce = BooleanField(_l("Show on the kiosk's idle screen"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = list(CHANGE_KIND_NAMES.items())

    def validate_day(self, field):
        import datetime as dt

        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Give a date between 2000 and 2100."))
        if field.data and field.data > clock().today() + dt.timedelta(days=31):
            raise ValidationError(_l("At most a month ahead: mark the change when it is near."))


class CommentReplyForm(FlaskForm):
    reply = CleanStringField(_l("Reply"), validators=[Optional(), Length(max=500)])
    handled = BooleanField(_l("Handled"))


class CleanTextField(TextAreaField):
    """Several lines of text, each without control characters."""
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = "\n".join(printable(line) for line in self.data.splitlines()).strip()


def _reasonable_day(field, ahead_days=0):
    import datetime as dt

    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Give a date between 2000 and 2100."))
    if field.data and ahead_days == 0 and field.data > clock().today():
        raise ValidationError(_l("This day has not come yet."))
    if field.data and ahead_days and field.data > clock().today() + dt.timedelta(days=ahead_days):
        raise ValidationError(_l("At most a year ahead."))


DISH_KINDS = ("taste", "portion", "price")  # suggestions about one dish name it


class SuggestionForm(FlaskForm):
    kind = SelectField(_l("What it is about"), choices=[])
    dish = SelectField(_l("Dish (for taste, portion or price)"), coerce=int, choices=[])
    text = CleanTextField(_l("The suggestion"), validators=[DataRequired(message=_l("Write the suggestion.")),
                                                            Length(max=1000)])
    team = CleanStringField(_l("From whom: team, shift or place"),
                            validators=[DataRequired(message=_l("Name the team, shift or place that asked.")),
                                        Length(max=80)])
    person = CleanStringField(_l("A person's name (only if they asked to be named)"),
                              validators=[Optional(), Length(max=80)])
    backers = CleanStringField(_l("Other teams backing it (separate with commas)"),
                               validators=[Optional(), Length(max=400)])
    venue = SelectField(_l("Where it was raised"), choices=[])
    raised_on = DateField(_l("When it was raised"), validators=[InputRequired(message=_l("Give the day."))])
    # the page's one-time token: the same form sent twice (a double tap) records one suggestion
    once = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])

    def __init__(self, *args, dishes=(), **kwargs):
        super().__init__(*args, **kwargs)
        if not self.once.data:
            self.once.data = secrets.token_hex(16)
        self.kind.choices = list(SUGGESTION_KINDS.items())
        self.venue.choices = list(SUGGESTION_VENUES.items())
        self.dish.choices = [(0, "—")] + list(dishes)

    def validate_dish(self, field):
        if self.kind.data in DISH_KINDS and not field.data:
            raise ValidationError(_l("Choose the dish this is about."))

    def validate_raised_on(self, field):
        _reasonable_day(field)

    def backer_teams(self):
        """The backing teams as written, each once, without the asking team."""
        names = [printable(t)[:80] for t in (self.backers.data or "").replace("，", ",").replace("、", ",").split(",")]
        return list(dict.fromkeys(t for t in names if t and t != self.team.data))


class BackerForm(FlaskForm):
    team = CleanStringField(_l("Team, shift or place backing it"),
                            validators=[DataRequired(message=_l("Name the team.")), Length(max=80)])


ANSWERS = {"accepted": _l("Accept"), "declined": _l("Decline"), "done": _l("Mark as done")}


class AnswerForm(FlaskForm):
    answer = SelectField(_l("Answer"), choices=[])
    plan = CleanTextField(_l("What will be done (or what was done)"), validators=[Optional(), Length(max=1000)])
    due = DateField(_l("By when"), validators=[Optional()])
    reason = CleanTextField(_l("Why not (the representatives read this)"), validators=[Optional(), Length(max=1000)])

    def __init__(self, *args, answers=tuple(ANSWERS), **kwargs):
        super().__init__(*args, **kwargs)
        self.offer(answers)

    def offer(self, answers):
        """The answers the page offers (those the suggestion's status allows)."""
        self.answer.choices = [(a, ANSWERS[a]) for a in answers]

    def validate_due(self, field):
        _reasonable_day(field, ahead_days=366)

    def validate(self, extra_validators=None):
        # what each answer needs (Optional() stops a field's own chain when it is empty)
        ok = super().validate(extra_validators)
        needs = {"accepted": [(self.plan, _l("Say what will be done.")),
                              (self.due, _l("Give the day by which it will be done."))],
                 "declined": [(self.reason, _l("Give the reason the representatives will read."))]}
        for field, message in needs.get(self.answer.data, []):
            if not field.data and not field.errors:
                field.errors = [*field.errors, message]
                ok = False
        if self.answer.data == "accepted" and self.due.data and not self.due.errors \
                and self.due.data < clock().today():  # a promise late the moment it is made
            self.due.errors = [*self.due.errors, _l("The day it will be done by cannot be in the past.")]
            ok = False
        return ok


class LinkForm(FlaskForm):
    trial_dish = SelectField(_l("A dish put on trial"), coerce=int, choices=[])
    change = SelectField(_l("A recipe, price or portion change"), coerce=int, choices=[])

    def __init__(self, *args, trial_dishes=(), changes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.trial_dish.choices = [(0, "—")] + list(trial_dishes)
        self.change.choices = [(0, "—")] + list(changes)

    def validate_change(self, field):
        if bool(field.data) == bool(self.trial_dish.data):
            raise ValidationError(_l("Choose either a dish on trial or a change, one of them."))
