"""Phone comments: filtered, searchable, shown escaped and without who wrote them; the
manager replies or marks them handled; safety ones link to the meal's retained samples."""
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from peewee import JOIN

from .. import audit
from ..access import actor, allow, current_roles
from ..feedback.follow_up import safety_words
from ..feedback.models import CommentFollowUp, Rating
from ..i18n import current_language
from ..models import Dish, database, utcnow
from ..office.auth import safe_next
from ..office.forms import CommentReplyForm, printable
from ..safety.models import SafetyRecord
from ..vocabulary import MEALS
from .blueprint import bp
from .export import table_response
from .filters import read_filters

STATUSES = ("all", "open", "handled", "safety")
PAGE = 100


def comment_query(filters, q, status):
    query = (Rating.select(Rating, Dish, CommentFollowUp)
             .join(Dish).switch(Rating).join(CommentFollowUp, JOIN.LEFT_OUTER)
             .where(Rating.comment.is_null(False) & Rating.day.between(filters.first, filters.last)))
    for name in ("meal", "shift", "place"):
        if getattr(filters, name) is not None:
            query = query.where(getattr(Rating, name) == getattr(filters, name))
    if filters.dish is not None:
        query = query.where(Rating.dish == filters.dish)
    if q:
        query = query.where(Rating.comment.contains(q))  # LIKE with %, _ escaped
    if status == "open":
        query = query.where(CommentFollowUp.handled_at.is_null())
    elif status == "handled":
        query = query.where(CommentFollowUp.handled_at.is_null(False))
    elif status == "safety":
        query = query.where(CommentFollowUp.safety == True)  # noqa: E712 (peewee expression)
    return query.order_by(Rating.day.desc(), Rating.id.desc())


def follow_up(rating):
    return getattr(rating, "commentfollowup", None)


@bp.get("/comments")
@allow("union", "manager", "admin")
def comments():
    """Phone comments with filters and search (?q=), newest first."""
    filters, errors = read_filters(fields=("meal", "dish"))
    q = printable(request.args.get("q") or "")[:100]
    status = request.args.get("status") or "all"
    if status not in STATUSES:
        errors["status"], status = _("Unknown status."), "all"
    lang = current_language()
    query = comment_query(filters, q, status)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        rows = [[r.day, str(MEALS.get(r.meal, r.meal)), r.dish.name(lang), r.score, r.comment, bool(f and f.safety),
                 f and f.reply, bool(f and f.handled_at)] for r in query.limit(50000) for f in [follow_up(r)]]
        return table_response(f"comments-{filters.first}-{filters.last}", [
            ("comments", ("day", "meal", "dish", "score", "comment", "safety", "reply", "handled"), rows)], fmt)
    count = query.count()
    rows = list(query.limit(PAGE))
    can_reply = bool(current_roles() & {"manager"})
    forms = {}
    for r in rows:
        f = follow_up(r)
        forms.setdefault(r.id, CommentReplyForm(formdata=None, reply=f and f.reply, handled=bool(f and f.handled_at)))
    return render_template("reports/comments.html", rows=rows, count=count, page=PAGE, filters=filters,
                           errors=errors, q=q, status=status, statuses=STATUSES, forms=forms, can_reply=can_reply,
                           follow_up=follow_up, lang=lang), 400 if errors else 200


@bp.get("/comments/<int:rating_id>")
@allow("union", "manager", "admin")
def comment(rating_id, form=None, status=200):
    """One comment; a safety one with the retained samples of its meal."""
    rating = (Rating.select(Rating, Dish).join(Dish)
              .where((Rating.id == rating_id) & Rating.comment.is_null(False)).first()) or abort(404)
    f = CommentFollowUp.get_or_none(CommentFollowUp.rating == rating.id)
    samples = [s for s in SafetyRecord.select().where((SafetyRecord.kind == "sample") & (SafetyRecord.day == rating.day))
               .order_by(SafetyRecord.id) if s.values().get("meal") == rating.meal]
    dishes = {d.id: d for d in Dish.select().where(Dish.id.in_([s.values().get("dish") for s in samples] or [0]))}
    form = form or CommentReplyForm(formdata=None, reply=f and f.reply, handled=bool(f and f.handled_at))
    return render_template("reports/comment.html", r=rating, f=f, samples=samples, dishes=dishes,
                           words=safety_words(rating.comment), form=form,
                           can_reply=bool(current_roles() & {"manager"}), lang=current_language()), status


@bp.post("/comments/<int:rating_id>")
@allow("manager")
def reply(rating_id):
    """Save the manager's reply and whether the comment is handled."""
    rating = Rating.get_or_none((Rating.id == rating_id) & Rating.comment.is_null(False)) or abort(404)
    form = CommentReplyForm()
    if not form.validate_on_submit():  # shown on the comment's own page, whatever list it came from
        return comment(rating.id, form, 422)
    back = safe_next(request.form.get("next"))  # judged before anything is stored: the list it came from
    if urlsplit(back).path != url_for("reports.comments"):
        back = url_for("reports.comments")
    now, who = utcnow(), actor()
    with database.atomic():
        CommentFollowUp.insert(rating=rating.id).on_conflict_ignore().execute()
        f = CommentFollowUp.get(CommentFollowUp.rating == rating.id)
        reply_text = form.reply.data or None
        if reply_text != f.reply:
            f.reply, f.replied_by, f.replied_at = reply_text, who, now
        if form.handled.data and f.handled_at is None:
            f.handled_at, f.handled_by = now, who
        elif not form.handled.data:
            f.handled_at = f.handled_by = None
        f.save()
        audit.record(who, "comment.follow_up", "rating", rating.id, reply=f.reply, handled=bool(f.handled_at))
    flash(_("Saved."))
    return redirect(back)
