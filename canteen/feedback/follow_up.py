"""Following up the miners' votes: the safety words that raise a comment to the manager at
once, the announcements of what the canteen changed, and the replies a phone sees."""
import re

from ..clock import clock
from ..jobs.tasks import raise_alert
from ..models import Dish, utcnow
from ..vocabulary import CHANGE_KIND_NAMES, DECISION_NAMES, MEALS
from .models import CommentFollowUp, DishChange, Rating, TrialDecision

DECISIONS = ("keep", "improve", "drop")
CHANGE_KINDS = ("recipe", "price", "portion", "other")


# What in a comment reports a food-safety problem (a foreign object, an illness, spoilage).
# Chinese: substrings; English: whole words (a pattern each, so "a glass of milk" or "ill"
# inside "illustrious" is not an alarm). Better one alarm too many than one too few.
SAFETY_WORDS_ZH = (
    "异物", "头发", "毛发", "根毛", "有毛", "猪毛", "刷毛", "虫", "苍蝇", "蟑螂", "蛆", "玻璃", "钢丝", "铁丝",
    "钉子", "铁钉", "螺丝", "石子", "沙子", "塑料", "指甲", "创可贴", "拉肚子", "闹肚子", "拉稀", "腹泻", "呕吐",
    "吐了", "肚子疼", "肚子痛", "胃疼", "胃痛", "恶心", "发烧", "中毒", "过敏", "变质", "坏了", "酸了", "馊",
    "发霉", "长毛", "臭了", "发臭", "异味", "怪味", "不新鲜", "没熟", "不熟", "夹生", "半生",
)
SAFETY_WORDS_EN = {
    "hair": r"hairs?", "insect": r"insects?", "bug": r"bugs?", "fly": r"fly|flies", "worm": r"worms?",
    "maggot": r"maggots?", "cockroach": r"cockroach(es)?|roach(es)?",
    "glass": r"(broken|piece of|bits? of|shards? of) glass|glass (shards?|pieces?|bits?)",
    "wire": r"wires?", "nail": r"nails?", "stone": r"stones?", "plastic": r"plastic", "foreign": r"foreign",
    "sick": r"sick(ness)?", "ill": r"ill", "vomit": r"vomit\w*", "threw up": r"thr(ew|ow|owing) up",
    "puke": r"puk\w*", "diarrhoea": r"diarrh\w*", "stomach": r"stomach ?(ache|pain|upset)|upset stomach",
    "nausea": r"nause\w*", "fever": r"fever", "poison": r"poison\w*", "allergy": r"allerg\w*",
    "mould": r"mou?ld(y|ed)?", "rotten": r"rott\w*", "spoiled": r"spoil(ed|t)", "stale": r"stale",
    "off": r"gone off|(smells?|tastes?|tasted|smelled) (bad|off|rotten|sour|funny)", "stink": r"stink\w*|stank",
    "raw": r"raw|undercooked|not cooked( through)?",
}
_EN = [(word, re.compile(rf"\b(?:{pattern})\b")) for word, pattern in SAFETY_WORDS_EN.items()]
# Dishes and phrases that hold a safety word and are no complaint.
NOT_SAFETY = ("臭豆腐", "臭鳜鱼", "虫草", "霉干菜", "梅干菜", "花生", "hairy crab", "butterfly", "dragonfly")


def safety_words(comment):
    """The safety words a comment contains, Chinese first."""
    if not comment:
        return []
    text = " ".join(comment.lower().split())
    for harmless in NOT_SAFETY:
        text = text.replace(harmless, " ")
    found = []
    for w in SAFETY_WORDS_ZH:
        if w in text and not any(w in f for f in found):
            found.append(w)
    found += [word for word, pattern in _EN if pattern.search(text)]
    return found


def raise_safety_comment(rating_id, dish_name_zh, dish_name_en, day, meal, words):
    """Mark the comment and alert the manager, in the vote's transaction."""
    from flask_babel import force_locale

    CommentFollowUp.insert(rating=rating_id, safety=True).on_conflict_ignore().execute()
    with force_locale("zh_CN"):
        zh_meal = str(MEALS.get(meal, meal))
    with force_locale("en"):
        en_meal = str(MEALS.get(meal, meal))
    raise_alert(f"comment:{rating_id}", "safety_comment", "manager",
                f"食品安全投诉：{day} {zh_meal} {dish_name_zh} 的评论提到“{'、'.join(words)}”，请查看留样。",
                f"Food-safety comment: {dish_name_en} at {en_meal} on {day} mentions "
                f"\"{', '.join(words)}\"; check the retained samples.")


def announcements(lang, today, days):
    """For the kiosk's idle screen: what the canteen decided or changed in the last `days`
    days, newest first — so that miners see their votes matter."""
    import datetime as dt

    since = today - dt.timedelta(days=days)
    out = []
    for d in (TrialDecision.select(TrialDecision, Dish).join(Dish)
              .where(TrialDecision.announce
                     & (TrialDecision.decided_at >= clock().local_to_utc(dt.datetime.combine(since, dt.time()))))
              .order_by(TrialDecision.decided_at.desc()).limit(10)):
        latest = TrialDecision.select().where(TrialDecision.dish == d.dish).order_by(TrialDecision.id.desc()).first()
        if latest.id == d.id:
            out.append({"dish_id": d.dish.id, "dish": d.dish.name(lang), "kind": f"trial_{d.decision}",
                        "text": str(DECISION_NAMES[d.decision]), "note": d.note,
                        "since": clock().to_local(d.decided_at).date().isoformat()})
    for c in (DishChange.select(DishChange, Dish).join(Dish)
              .where(DishChange.announce & DishChange.day.between(since, today))
              .order_by(DishChange.day.desc(), DishChange.id.desc()).limit(10)):
        out.append({"dish_id": c.dish.id, "dish": c.dish.name(lang), "kind": c.kind,
                    "text": str(CHANGE_KIND_NAMES[c.kind]), "note": c.note, "since": c.day.isoformat()})
    out.sort(key=lambda a: a["since"], reverse=True)
    return out[:6]


def replies_for(voter_key, days=60, limit=5):
    """The canteen's replies to one phone's comments of the last `days` days, newest first:
    shown on that phone's page only (its cookie is the only key to them)."""
    import datetime as dt
    if not voter_key:
        return []
    since = utcnow() - dt.timedelta(days=days)
    return list(Rating.select(Rating, CommentFollowUp, Dish)
                .join(CommentFollowUp).switch(Rating).join(Dish)
                .where((Rating.voter_key == voter_key) & CommentFollowUp.reply.is_null(False)
                       & (CommentFollowUp.replied_at >= since))
                .order_by(CommentFollowUp.replied_at.desc()).limit(limit))
