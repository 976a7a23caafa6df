"""Back-office forms (Flask-WTF: CSRF on every POST, errors shown beside each field)."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
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
from ..vocabulary import CATEGORIES, CHANGE_KIND_NAMES, DECISION_NAMES, ROLE_NAMES
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


class UserForm(FlaskForm):
    username = CleanStringField(_l("User name"), validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dot, dash and underscore only."))])
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
