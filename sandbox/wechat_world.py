"""A deterministic, generated WeChat Official Accounts world for the sandbox.

One Official Account (an "app") per brand of the Weibo world's `WorldConfig`. Everything is decided
by RNGs seeded from (seed, appid, Beijing calendar day) or (seed, msgid), so a message's existence,
content and statistics never depend on the `days` window or on "now"; those only decide what
freepublish/batchget lists and which datacube rows are ready. Rows have the field names and shapes
of the real API (freepublish/batchget `item`, datacube `list` rows).

Model, in short:
- 0-2 published messages a Beijing day (mostly 1), each with 1-4 articles (news_item positions 1..n).
  `msg_data_id` grows with the date; the datacube `msgid` of an article is "<msg_data_id>_<index>".
- Article statistics are followed for 7 stat dates (the publish day and 6 more): cumulative counters
  grow by decaying daily increments and stay flat afterwards. Reads by traffic source add up to the
  totals, users never exceed counts, the headline article reads most.
- Followers: daily new/cancelled users per user_source since 2014-12-01 on top of a base; the
  cumulative count is the running sum, so getusersummary and getusercumulate always agree.
- Account-level getuserread/getusershare are the sums of that day's article increments (getuserread
  also carries a user_source 99999999 "all sources" row, as the real API sometimes does).
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.weibo_world import BEIJING, BRAND_TEMPLATES, BrandTemplate, WorldConfig

FIRST_DATA_DAY = date(2014, 12, 1)  # datacube figures exist from this day on
APPID_BASE = 0x5348000000000000
MSG_DATA_ID_BASE = 2_247_480_000
MSG_DATA_ID_STRIDE = 200  # per day: 2 slots (message seq) for each of up to 100 apps
MAX_APPS = MSG_DATA_ID_STRIDE // 2
MAX_MESSAGES_PER_DAY = 2
TRACKED_DAYS = 7  # getarticletotal follows an article for the publish day and 6 more days
MIN_SUMMARY_EVENTS = 3  # getarticlesummary lists an article only with >= 3 events that day

# Reads by traffic source, as in getarticletotal's int_page_from_<source>_read_user/count.
READ_SOURCES = ("session", "hist_msg", "feed", "friends", "other")
# getuserread's user_source for each article traffic source (0 chats, 1 friend forward, 2 moments,
# 4 history page, 5 other), and the "all sources" row.
USER_READ_SOURCE = {"session": 0, "friends": 1, "feed": 2, "hist_msg": 4, "other": 5}
USER_READ_ALL = 99999999
# getusersummary user_source: 0 other, 1 search, 17 card share, 30 QR code, 51 payment, 57 article menu.
FOLLOWER_SOURCES: dict[int, float] = {0: 0.25, 1: 0.2, 17: 0.1, 30: 0.3, 51: 0.05, 57: 0.1}
# getusershare share_scene: 1 friend forward, 2 moments, 5 other.
SHARE_SCENES: dict[int, float] = {1: 0.55, 2: 0.35, 5: 0.10}

COUNTERS = ("int_page_read", "ori_page_read", "share", "add_to_fav")
SUMMARY_FIELDS = tuple(f"{name}_{kind}" for name in COUNTERS for kind in ("user", "count"))
SOURCE_FIELDS = tuple(
    f"int_page_from_{source}_read_{kind}" for source in READ_SOURCES for kind in ("user", "count")
)

_AUTHORS = ("{short}小编", "{short}君", "编辑部", "Aurora", "阿禾")
_SECTIONS = ("新品", "福利", "故事", "攻略", "问答")


@dataclass(frozen=True)
class WeChatApp:
    appid: str
    name: str
    brand_id: str
    brand_name: str


@dataclass(frozen=True)
class _Article:
    msgid: str  # "<msg_data_id>_<index>"
    index: int  # 1-based position in the message; 1 is the headline
    news_item: dict[str, Any]  # the batchget news_item, with content


@dataclass(frozen=True)
class _Message:
    appid: str
    article_id: str
    msg_data_id: int
    published: datetime  # Beijing time
    articles: tuple[_Article, ...]


def _beijing_day(moment: date | datetime) -> date:
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).date()
    return moment


def _split(total: int, weights: list[float]) -> list[int]:
    """total split in proportion to weights (largest remainder): non-negative, sums to total, and a
    zero weight always gets 0 (so a part never exceeds total * its weight share, rounded up)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _b64(data: bytes, length: int) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")[:length]


class WeChatWorld:
    """Official Accounts, published messages, article statistics and followers; all deterministic."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        if self.config.brands > MAX_APPS:
            raise ValueError(f"at most {MAX_APPS} WeChat apps fit the msg_data_id scheme")
        self._apps: list[WeChatApp] = []
        self._templates: dict[str, BrandTemplate] = {}
        self._index: dict[str, int] = {}
        for b in range(self.config.brands):
            template = BRAND_TEMPLATES[b % len(BRAND_TEMPLATES)]
            cycle = b // len(BRAND_TEMPLATES)
            suffix = str(cycle + 1) if cycle else ""
            app = WeChatApp(
                appid="wx" + f"{APPID_BASE + b + 1:016x}",
                name=f"{template.name}{suffix}公众号",
                brand_id=f"{template.brand_id}{suffix}",
                brand_name=f"{template.name}{suffix}",
            )
            self._apps.append(app)
            self._templates[app.appid] = template
            self._index[app.appid] = b
        self._lock = threading.Lock()
        self._day_cache: dict[tuple[str, date], tuple[_Message, ...]] = {}
        self._stats_cache: dict[str, tuple[dict[str, int], ...]] = {}
        self._follower_prefix: dict[str, list[int]] = {}  # running net change since FIRST_DATA_DAY
        self._follower_models: dict[str, tuple[int, float, float]] = {}

    # ----- apps and secrets -----

    @property
    def apps(self) -> list[WeChatApp]:
        return list(self._apps)

    def app(self, appid: str) -> WeChatApp | None:
        index = self._index.get(appid)
        return None if index is None else self._apps[index]

    def _require(self, appid: str) -> WeChatApp:
        app = self.app(appid)
        if app is None:
            raise KeyError(f"unknown sandbox appid {appid}")
        return app

    def secret_for(self, appid: str) -> str:
        """The app secret (32 hex characters), derived from the seed and the appid."""
        self._require(appid)
        material = f"shengliang-wechat-secret|{self.config.seed}|{appid}"
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    def biz(self, appid: str) -> str:
        """The account's __biz as it appears in article URLs (base64 of a 10-digit number)."""
        digest = hashlib.sha256(f"{self.config.seed}|biz|{appid}".encode()).digest()
        number = 3_000_000_000 + int.from_bytes(digest[:4], "big") % 900_000_000
        return base64.b64encode(str(number).encode()).decode()

    # ----- published messages -----

    def _day_messages(self, appid: str, day: date) -> tuple[_Message, ...]:
        key = (appid, day)
        cached = self._day_cache.get(key)
        if cached is None:
            cached = self._generate_day(appid, day)  # deterministic: a race only computes it twice
            with self._lock:
                self._day_cache[key] = cached
        return cached

    def _generate_day(self, appid: str, day: date) -> tuple[_Message, ...]:
        if day < FIRST_DATA_DAY:
            return ()
        rng = random.Random(f"{self.config.seed}|wechat-day|{appid}|{day.isoformat()}")
        count = rng.choices((0, 1, 2), weights=(0.15, 0.7, 0.15))[0]
        minutes = sorted(rng.sample(range(8 * 60, 22 * 60), count))  # Beijing daytime, 08:00-21:59
        day_index = (day - FIRST_DATA_DAY).days
        messages = []
        for seq, minute in enumerate(minutes):
            published = datetime.combine(day, datetime.min.time(), BEIJING) + timedelta(
                minutes=minute, seconds=rng.randint(0, 59)
            )
            msg_data_id = MSG_DATA_ID_BASE + day_index * MSG_DATA_ID_STRIDE + self._index[appid] * 2 + seq
            n_articles = rng.choices((1, 2, 3, 4), weights=(0.35, 0.3, 0.2, 0.15))[0]
            articles = tuple(
                self._article(rng, appid, msg_data_id, index, published) for index in range(1, n_articles + 1)
            )
            digest = hashlib.sha256(f"{self.config.seed}|publish|{appid}|{msg_data_id}".encode()).digest()
            messages.append(
                _Message(
                    appid=appid,
                    article_id=_b64(digest + hashlib.sha256(digest).digest(), 64),
                    msg_data_id=msg_data_id,
                    published=published,
                    articles=articles,
                )
            )
        return tuple(messages)

    def _article(
        self, rng: random.Random, appid: str, msg_data_id: int, index: int, published: datetime
    ) -> _Article:
        tpl = self._templates[appid]
        app = self._require(appid)
        brand = app.brand_name
        term, term2 = rng.sample(tpl.terms[1:], 2)
        adj = rng.choice(tpl.adjectives)
        local = published.astimezone(BEIJING)
        title = rng.choice(
            (
                f"{term}上新｜{adj}到犯规的{term2}来了",
                f"{brand}会员日福利：{term}第二杯半价，{term2}限时体验",
                f"一文读懂{term2}：从原料到工艺",
                f"你问我答｜关于{term}的10个问题",
                f"{local.month}月{local.day}日｜{brand}{rng.choice(_SECTIONS)}汇总",
                f"今日推荐：{term}×{term2}，这样搭配更{adj}",
            )
        )
        digest_text = rng.choice(
            (
                f"{term}全新升级，{term2}限时体验，点击查看详情。",
                f"关于{term}，你想知道的都在这里。",
                f"本周{brand}为你准备了{term}和{term2}，先到先得～",
                f"{term2}回来了！还是熟悉的{adj}。",
            )
        )
        key = f"{self.config.seed}|{appid}|{msg_data_id}|{index}"
        media = hashlib.sha256(f"media|{key}".encode()).digest()
        image = hashlib.md5(f"image|{key}".encode()).hexdigest()
        img_url = f"https://mmbiz.qpic.cn/sz_mmbiz_jpg/{image}/640?wx_fmt=jpeg"
        until = local.date() + timedelta(days=rng.randint(3, 14))
        content = (
            '<section style="margin: 0px 8px;">'
            f"<p>亲爱的朋友们：</p>"
            f"<p>{brand}的<strong>{term}</strong>全新升级啦&nbsp;！这一次我们把{term2}也一起带来了。</p>"
            f'<p><img data-src="{img_url}" data-type="jpeg" data-w="1080" data-ratio="0.5625" /></p>'
            f"<section><p>活动时间：{local:%m月%d日}&nbsp;&mdash;&nbsp;{until:%m月%d日}</p>"
            f"<p>&ldquo;{term2}&rdquo;限时&yen;{rng.choice((9.9, 19.9, 29))} &amp; 会员双倍积分</p></section>"
            f"<p><strong>{term}</strong>真的很{adj}，欢迎在评论区告诉我们你的感受&hellip;</p>"
            "</section>"
        )
        sn = hashlib.md5(f"sn|{key}".encode()).hexdigest()
        biz = self.biz(appid)
        news_item = {
            "title": title,
            "author": rng.choice(_AUTHORS).format(short=tpl.short),
            "digest": digest_text,
            "content": content,
            "content_source_url": rng.choice(
                ("", f"https://www.{app.brand_id}.example.com/activity/{msg_data_id % 100000}")
            ),
            "thumb_media_id": _b64(media + hashlib.sha256(media).digest(), 43),
            "need_open_comment": rng.choice((0, 1, 1)),
            "only_fans_can_comment": rng.choice((0, 0, 1)),
            "url": f"http://mp.weixin.qq.com/s?__biz={biz}&mid={msg_data_id}&idx={index}&sn={sn}#rd",
            "is_deleted": rng.random() < 0.03,
            "thumb_url": f"http://mmbiz.qpic.cn/sz_mmbiz_jpg/{image[::-1]}/0?wx_fmt=jpeg",
        }
        return _Article(msgid=f"{msg_data_id}_{index}", index=index, news_item=news_item)

    def _published(self, appid: str, until: datetime) -> list[_Message]:
        """Messages inside the `days` window ending at until's Beijing date, at or before until,
        newest first."""
        self._require(appid)
        local = (until if until.tzinfo is not None else until.replace(tzinfo=UTC)).astimezone(BEIJING)
        found: list[_Message] = []
        for back in range(self.config.days):
            day = local.date() - timedelta(days=back)
            found.extend(m for m in self._day_messages(appid, day) if m.published <= local)
        found.sort(key=lambda m: m.msg_data_id, reverse=True)
        return found

    @staticmethod
    def render_message(message: _Message, no_content: bool = False) -> dict[str, Any]:
        news = []
        for article in message.articles:
            item = dict(article.news_item)
            if no_content:
                del item["content"]
            news.append(item)
        return {
            "article_id": message.article_id,
            "content": {"news_item": news},
            "update_time": int(message.published.timestamp()),
        }

    def messages(self, appid: str, until: datetime, no_content: bool = False) -> list[dict[str, Any]]:
        """Published messages visible at until, newest first, in the freepublish/batchget item shape."""
        return [self.render_message(m, no_content) for m in self._published(appid, until)]

    def articles_published_on(self, appid: str, day: date) -> list[tuple[str, str]]:
        """(msgid, title) of the articles published on a Beijing day, in publishing order."""
        return [(a.msgid, a.news_item["title"]) for m in self._day_messages(appid, day) for a in m.articles]

    def _find(self, msgid: str) -> tuple[str, _Message, _Article] | None:
        try:
            mid_text, idx_text = str(msgid).split("_")
            mid, idx = int(mid_text), int(idx_text)
        except ValueError:
            return None
        offset = mid - MSG_DATA_ID_BASE
        if offset < 0:
            return None
        day_index, slot = divmod(offset, MSG_DATA_ID_STRIDE)
        app_index, seq = divmod(slot, 2)
        if app_index >= len(self._apps):
            return None
        appid = self._apps[app_index].appid
        messages = self._day_messages(appid, FIRST_DATA_DAY + timedelta(days=day_index))
        if seq >= len(messages) or not 1 <= idx <= len(messages[seq].articles):
            return None
        message = messages[seq]
        return appid, message, message.articles[idx - 1]

    # ----- followers -----

    def _follower_day(self, appid: str, day: date) -> dict[int, tuple[int, int]]:
        """{user_source: (new_user, cancel_user)} of one Beijing day."""
        if day < FIRST_DATA_DAY:
            return {}
        _base, mean_new, cancel_rate = self._follower_model(appid)
        rng = random.Random(f"{self.config.seed}|wechat-fans|{appid}|{day.isoformat()}")
        mood = rng.uniform(0.6, 1.4) * (0.8 if day.weekday() >= 5 else 1.0)
        rows: dict[int, tuple[int, int]] = {}
        for source, weight in FOLLOWER_SOURCES.items():
            mean = mean_new * weight * mood
            new = max(0, round(rng.gauss(mean, math.sqrt(mean))))
            cancel_mean = mean * cancel_rate
            cancel = max(0, round(rng.gauss(cancel_mean, math.sqrt(cancel_mean))))
            if source == 0 or new or cancel:
                rows[source] = (new, cancel)
        return rows

    def _follower_model(self, appid: str) -> tuple[int, float, float]:
        """(followers on 2014-11-30, mean new followers a day, cancellations per new follower)."""
        model = self._follower_models.get(appid)
        if model is None:
            rng = random.Random(f"{self.config.seed}|wechat-followers|{appid}")
            model = (rng.randint(30_000, 150_000), rng.uniform(40, 120), rng.uniform(0.6, 0.8))
            self._follower_models[appid] = model
        return model

    def follower_changes(self, appid: str, day: date | datetime) -> tuple[int, int]:
        """(new_user, cancel_user) of a Beijing day, summed over user_source."""
        self._require(appid)
        rows = self._follower_day(appid, _beijing_day(day)).values()
        return sum(new for new, _ in rows), sum(cancel for _, cancel in rows)

    def followers(self, appid: str, day: date | datetime) -> int:
        """cumulate_user at the end of a Beijing day: base + all new - cancelled since 2014-12-01."""
        self._require(appid)
        day = _beijing_day(day)
        base = self._follower_model(appid)[0]
        if day < FIRST_DATA_DAY:
            return base
        wanted = (day - FIRST_DATA_DAY).days
        with self._lock:
            prefix = self._follower_prefix.setdefault(appid, [])
            while len(prefix) <= wanted:
                new, cancel = self.follower_changes(appid, FIRST_DATA_DAY + timedelta(days=len(prefix)))
                prefix.append((prefix[-1] if prefix else 0) + new - cancel)
            return max(0, base + prefix[wanted])

    def user_summary(self, appid: str, day: date) -> list[dict[str, Any]]:
        """getusersummary rows of one day: one per user_source, user_source 0 always present."""
        self._require(appid)
        rows = self._follower_day(appid, day) or {0: (0, 0)}
        return [
            {"ref_date": day.isoformat(), "user_source": source, "new_user": new, "cancel_user": cancel}
            for source, (new, cancel) in rows.items()
        ]

    def user_cumulate(self, appid: str, day: date) -> dict[str, Any]:
        """The getusercumulate row of one day."""
        return {"ref_date": day.isoformat(), "user_source": 0, "cumulate_user": self.followers(appid, day)}

    # ----- article statistics -----

    def _stats(self, msgid: str) -> tuple[dict[str, int], ...] | None:
        """Cumulative figures of an article at the end of stat days 0..6 after publishing."""
        cached = self._stats_cache.get(msgid)
        if cached is not None:
            return cached
        found = self._find(msgid)
        if found is None:
            return None
        appid, message, article = found
        rng = random.Random(f"{self.config.seed}|wechat-stats|{msgid}")
        publish_day = message.published.date()
        target = self.followers(appid, publish_day - timedelta(days=1))
        rate = rng.uniform(0.04, 0.12) if article.index == 1 else rng.uniform(0.008, 0.03)
        finals = {
            "int_page_read": target * rate,
            "ori_page_read": 0.0,
            "share": 0.0,
            "add_to_fav": 0.0,
        }
        finals["ori_page_read"] = finals["int_page_read"] * rng.uniform(0.002, 0.012)
        finals["share"] = finals["int_page_read"] * rng.uniform(0.01, 0.05)
        finals["add_to_fav"] = finals["int_page_read"] * rng.uniform(0.005, 0.02)
        user_ratio = {
            "int_page_read": rng.uniform(0.82, 0.95),
            "ori_page_read": rng.uniform(0.8, 1.0),
            "share": rng.uniform(0.6, 0.9),
            "add_to_fav": rng.uniform(0.85, 1.0),
        }
        decay = rng.uniform(0.7, 1.2)
        weights = [math.exp(-k * decay) for k in range(TRACKED_DAYS)]
        shares = [sum(weights[: k + 1]) / sum(weights) for k in range(TRACKED_DAYS)]
        source_weights = [
            rng.uniform(0.45, 0.7),  # session
            rng.uniform(0.03, 0.1),  # hist_msg
            rng.uniform(0.05, 0.2),  # feed (moments)
            rng.uniform(0.05, 0.2),  # friends
            rng.uniform(0.01, 0.05),  # other
        ]
        rows: list[dict[str, int]] = []
        previous: dict[str, int] = dict.fromkeys(SUMMARY_FIELDS + SOURCE_FIELDS, 0)
        for k in range(TRACKED_DAYS):
            row: dict[str, int] = {"target_user": target}
            for name in COUNTERS:
                count = math.floor(finals[name] * shares[k] + 1e-9)
                row[f"{name}_user"] = math.floor(count * user_ratio[name])
                row[f"{name}_count"] = count
            inc_count = row["int_page_read_count"] - previous["int_page_read_count"]
            inc_user = row["int_page_read_user"] - previous["int_page_read_user"]
            by_source = _split(inc_count, source_weights)
            users_by_source = _split(inc_user, [float(c) for c in by_source])
            for source, count, users in zip(READ_SOURCES, by_source, users_by_source, strict=True):
                user_field, count_field = (
                    f"int_page_from_{source}_read_user",
                    f"int_page_from_{source}_read_count",
                )
                row[user_field] = previous[user_field] + users
                row[count_field] = previous[count_field] + count
            rows.append(row)
            previous = row
        result = tuple(rows)
        with self._lock:
            self._stats_cache[msgid] = result
        return result

    def article_total(self, msgid: str, stat_date: date) -> dict[str, Any] | None:
        """The getarticletotal details row of an article as of stat_date (cumulative; flat from the
        7th stat date on), or None for an unknown msgid or a stat_date before publishing."""
        found = self._find(msgid)
        stats = self._stats(msgid)
        if found is None or stats is None:
            return None
        k = (stat_date - found[1].published.date()).days
        if k < 0:
            return None
        figures = stats[min(k, TRACKED_DAYS - 1)]
        row: dict[str, Any] = {"stat_date": stat_date.isoformat(), "target_user": figures["target_user"]}
        row.update({field: figures[field] for field in SUMMARY_FIELDS + SOURCE_FIELDS})
        return row

    def article_day(self, msgid: str, stat_date: date) -> dict[str, int] | None:
        """The figures of stat_date alone (increments), all counters; None outside the tracked days."""
        found = self._find(msgid)
        stats = self._stats(msgid)
        if found is None or stats is None:
            return None
        k = (stat_date - found[1].published.date()).days
        if not 0 <= k < TRACKED_DAYS:
            return None
        before = stats[k - 1] if k else dict.fromkeys(stats[0], 0)
        return {field: stats[k][field] - before[field] for field in SUMMARY_FIELDS + SOURCE_FIELDS}

    def article_totals(self, appid: str, ref_date: date, last_stat_date: date) -> list[dict[str, Any]]:
        """getarticletotal rows for ref_date: the articles published that day, each with one details
        row per stat_date from ref_date to min(ref_date + 6, last_stat_date)."""
        last = min(ref_date + timedelta(days=TRACKED_DAYS - 1), last_stat_date)
        if last < ref_date:
            return []
        result = []
        for msgid, title in self.articles_published_on(appid, ref_date):
            details = []
            for k in range((last - ref_date).days + 1):
                detail = self.article_total(msgid, ref_date + timedelta(days=k))
                assert detail is not None
                details.append(detail)
            result.append(
                {"ref_date": ref_date.isoformat(), "msgid": msgid, "title": title, "details": details}
            )
        return result

    def _tracked_on(self, appid: str, day: date) -> list[tuple[str, str, dict[str, int]]]:
        """(msgid, title, that day's increments) of every article tracked on day."""
        tracked = []
        for back in range(TRACKED_DAYS):
            for msgid, title in self.articles_published_on(appid, day - timedelta(days=back)):
                figures = self.article_day(msgid, day)
                if figures is not None:
                    tracked.append((msgid, title, figures))
        tracked.sort(key=lambda entry: entry[0])
        return tracked

    def article_summaries(self, appid: str, ref_date: date) -> list[dict[str, Any]]:
        """getarticlesummary rows of one day: that day's own figures per article, for articles with at
        least 3 events (reads, original-page reads, shares, favourites) that day."""
        self._require(appid)
        rows = []
        for msgid, title, figures in self._tracked_on(appid, ref_date):
            events = sum(figures[f"{name}_count"] for name in COUNTERS)
            if events >= MIN_SUMMARY_EVENTS:
                row: dict[str, Any] = {"ref_date": ref_date.isoformat(), "msgid": msgid, "title": title}
                row.update({field: figures[field] for field in SUMMARY_FIELDS})
                rows.append(row)
        return rows

    def user_read(self, appid: str, day: date) -> list[dict[str, Any]]:
        """getuserread rows of one day: per user_source (0, 1, 2, 4, 5) the sums of that day's article
        figures from the matching traffic source, then the 99999999 row with the totals."""
        self._require(appid)
        tracked = self._tracked_on(appid, day)
        per_source: dict[str, dict[str, int]] = {
            source: dict.fromkeys(SUMMARY_FIELDS, 0) for source in READ_SOURCES
        }
        total = dict.fromkeys(SUMMARY_FIELDS, 0)
        for _msgid, _title, figures in tracked:
            counts = [figures[f"int_page_from_{source}_read_count"] for source in READ_SOURCES]
            weights = [float(c) for c in counts] if any(counts) else [1.0, 0.0, 0.0, 0.0, 0.0]
            split = {name: _split(figures[name], weights) for name in SUMMARY_FIELDS[2:]}
            for i, source in enumerate(READ_SOURCES):
                bucket = per_source[source]
                bucket["int_page_read_user"] += figures[f"int_page_from_{source}_read_user"]
                bucket["int_page_read_count"] += counts[i]
                for name in SUMMARY_FIELDS[2:]:
                    bucket[name] += split[name][i]
            for name in SUMMARY_FIELDS:
                total[name] += figures[name]
        rows = []
        ordered = sorted(READ_SOURCES, key=lambda source: USER_READ_SOURCE[source])
        for user_source, figures in [(USER_READ_SOURCE[s], per_source[s]) for s in ordered] + [
            (USER_READ_ALL, total)
        ]:
            rows.append({"ref_date": day.isoformat(), "user_source": user_source, **figures})
        return rows

    def user_share(self, appid: str, day: date) -> list[dict[str, Any]]:
        """getusershare rows of one day: that day's article shares split by share_scene (1 friend
        forward, 2 moments, 5 other); scenes without shares are left out."""
        self._require(appid)
        shares = users = 0
        for _msgid, _title, figures in self._tracked_on(appid, day):
            shares += figures["share_count"]
            users += figures["share_user"]
        counts = _split(shares, list(SHARE_SCENES.values()))
        share_users = _split(users, [float(c) for c in counts])
        return [
            {"ref_date": day.isoformat(), "share_scene": scene, "share_count": count, "share_user": user}
            for scene, count, user in zip(SHARE_SCENES, counts, share_users, strict=True)
            if count > 0
        ]
