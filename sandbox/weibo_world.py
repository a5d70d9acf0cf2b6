"""A deterministic, generated Weibo world for the sandbox.

Every post is decided by an RNG seeded from (seed, uid, Beijing calendar day), so a post's existence
and content never depend on the `days` window or on "now"; those only decide what is visible and how
large its engagement has grown. Status, user and comment objects have the Weibo Open API v2 shape.
"""

from __future__ import annotations

import hashlib
import html
import math
import random
import re
import string
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# Post ids: time-ordered across accounts (like real Weibo ids), and decodable back to the account.
POST_ID_BASE = 4_900_000_000_000_000
POST_ID_EPOCH = 1_600_000_000
MAX_ACCOUNTS = 100  # account_index fills two decimal digits of the id
COMMENT_SEQ_OFFSET = 50  # post seq uses 0..49 of the last two digits, comments 50..99

SATURATION_SECONDS = 3 * 24 * 3600  # engagement reaches its final total after about 3 days
FOLLOWERS_REFERENCE_DAY = date(2025, 1, 1)
BRAND_MAX_POSTS_PER_DAY = 5
EMPLOYEE_MAX_POSTS_PER_DAY = 3
# Weights of an employee's 0, 1, 2 and 3 posts in a day: a day without a post is one in ten, so every
# employee posts in every week (and on most days).
EMPLOYEE_POSTS_PER_DAY_WEIGHTS = (1, 4, 3, 2)
MAX_COMMENTS_PER_POST = 200

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TOKEN_ALPHABET = string.digits + string.ascii_letters

# The standard emoticon set, with the image name Weibo uses in HTML text.
EMOTICONS: dict[str, str] = {
    "哈哈": "d_haha",
    "爱你": "d_aini",
    "赞": "d_zan",
    "心": "l_xin",
    "笑cry": "d_xiaoku",
    "泪": "d_lei",
    "怒": "d_nu",
    "抓狂": "d_zhuakuang",
    "doge": "d_doge",
    "good": "h_good",
    "鼓掌": "d_guzhang",
    "偷笑": "d_touxiao",
    "可爱": "d_keai",
    "酷": "d_ku",
    "思考": "d_sikao",
    "失望": "d_shiwang",
    "生病": "d_shengbing",
    "允悲": "d_yunbei",
    "二哈": "d_erha",
    "打call": "f_dacall",
}
_HAPPY_EMOTICONS = (
    "哈哈",
    "爱你",
    "赞",
    "心",
    "笑cry",
    "doge",
    "good",
    "鼓掌",
    "偷笑",
    "可爱",
    "酷",
    "打call",
)

# A brand's team of employees on Weibo: (department, headcount) of every 12 employees. Two departments
# reach 5 people and one stays below, so a mart that hides a department's week when fewer than 5
# employees posted in it shows some cells and hides others.
DEPARTMENT_PLAN: tuple[tuple[str, int], ...] = (("市场部", 5), ("销售部", 5), ("门店运营", 2))
DEPARTMENTS = tuple(name for name, _ in DEPARTMENT_PLAN)
_NICKNAMES = ("小李", "阿杰", "小雨", "大鹏", "晓晓", "橙子", "木木", "老周", "阿May", "豆豆", "阿凯", "糖糖")
_NICK_PATTERNS = ("{short}-{nick}的日常", "{nick}在{short}", "{short}{dept}{nick}", "{nick}_{short}打工人")
# Figures an employee should not name in public, every brand alike (config/confidential_terms.txt, financial).
_FINANCIAL_SLIPS = ("内部业绩预测", "毛利率预估", "年度财报草稿")
_KOLS = ("微博美食", "数码博主老王", "上海探店小分队", "科技美学", "生活家Lily")
_SOURCES_BRAND = ("微博 weibo.com", "微博视频号", "专业版微博")
_SOURCES_EMPLOYEE = ("iPhone 15 Pro", "HUAWEI Mate 60 Pro", "微博 weibo.com", "OPPO Find X7", "小米14 Ultra")


@dataclass(frozen=True)
class BrandTemplate:
    brand_id: str
    name: str
    official_screen_name: str
    short: str  # short form used in employee nicknames
    terms: tuple[str, ...]
    topics: tuple[str, ...]
    adjectives: tuple[str, ...]
    # Unreleased names an employee lets slip now and then (in config/confidential_terms.txt).
    leaks: tuple[str, ...] = ()


BRAND_TEMPLATES: tuple[BrandTemplate, ...] = (
    BrandTemplate(
        brand_id="shanhai",
        name="山海茶饮",
        official_screen_name="山海茶饮官方微博",
        short="山海",
        terms=("山海茶饮", "云雾乌龙", "桂花拿铁", "冷萃茉莉", "山海会员日"),
        topics=("#山海茶饮新品#", "#秋天的第一杯奶茶#", "#山海会员日#", "#今天喝什么#"),
        adjectives=("好喝", "清爽", "香", "上头"),
        leaks=("雪顶岩茶", "云栖计划"),
    ),
    BrandTemplate(
        brand_id="jiguang",
        name="极光手机",
        official_screen_name="极光手机",
        short="极光",
        terms=("极光手机", "极光X5", "星环OS", "超感光影像", "极光Pad"),
        topics=("#极光X5发布会#", "#星环OS升级#", "#超感光影像#", "#极光影像大赛#"),
        adjectives=("流畅", "惊艳", "好用", "顶"),
        leaks=("极光X6", "天枢芯片"),
    ),
    BrandTemplate(
        brand_id="qingyu",
        name="青屿美妆",
        official_screen_name="青屿美妆官方",
        short="青屿",
        terms=("青屿美妆", "山茶花面霜", "青屿防晒乳", "玻尿酸精华", "青屿会员节"),
        topics=("#青屿美妆#", "#换季护肤#", "#青屿防晒乳测评#", "#早C晚A#"),
        adjectives=("水润", "温和", "好用", "清透"),
    ),
)


def department_sequence(employees: int) -> list[str]:
    """The departments of a brand's employees 0..n-1: DEPARTMENT_PLAN's headcounts in every 12, the
    departments interleaved (smooth weighted round-robin), so the first three are one of each."""
    total = sum(count for _, count in DEPARTMENT_PLAN)
    current = [0] * len(DEPARTMENT_PLAN)
    result: list[str] = []
    for _ in range(employees):
        for i, (_, count) in enumerate(DEPARTMENT_PLAN):
            current[i] += count
        pick = max(range(len(current)), key=lambda i: current[i])  # ties: the earlier department
        current[pick] -= total
        result.append(DEPARTMENT_PLAN[pick][0])
    return result


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 20261101
    brands: int = 2
    employees_per_brand: int = 12  # departments as DEPARTMENT_PLAN
    days: int = 14  # calendar days (Beijing) visible in timelines, ending at now's date

    def __post_init__(self) -> None:
        if self.brands < 1 or self.employees_per_brand < 0 or self.days < 1:
            raise ValueError("brands >= 1, employees_per_brand >= 0 and days >= 1 are required")
        if self.brands * (1 + self.employees_per_brand) > MAX_ACCOUNTS:
            raise ValueError(f"at most {MAX_ACCOUNTS} accounts fit the post id scheme")


@dataclass(frozen=True)
class SandboxAccount:
    uid: str
    screen_name: str
    kind: str  # "brand" | "employee"
    brand_id: str
    brand_name: str
    department: str | None


@dataclass(frozen=True)
class _Brand:
    index: int
    brand_id: str
    name: str
    template: BrandTemplate
    official_uid: str


@dataclass(frozen=True)
class _Post:
    id: int
    uid: str
    created: datetime  # Beijing time
    text: str
    text_length: int
    is_long: bool
    pic_ids: tuple[str, ...]
    source: str
    retweeted_id: int | None  # the root original when this is a repost
    string_counts: bool  # the API habit of sending counts as strings


def format_created_at(moment: datetime) -> str:
    """Weibo's created_at, e.g. "Thu Apr 19 10:35:57 +0800 2018", in Beijing time, locale-free."""
    local = moment.astimezone(BEIJING)
    return (
        f"{_WEEKDAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day:02d} "
        f"{local:%H:%M:%S} +0800 {local.year}"
    )


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_IMG_ALT = re.compile(r"<img alt=\"([^\"]*)\"[^>]*>")
_TAG = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Length of the text as a reader sees it: emoticon images as [name], tags removed, entities decoded."""
    return len(html.unescape(_TAG.sub("", _IMG_ALT.sub(r"\1", text))))


def _emoticon_html(name: str) -> str:
    image = EMOTICONS[name]
    suffix = "0ce7b1ec6f" if name == "哈哈" else hashlib.md5(image.encode()).hexdigest()[:10]
    return (
        f'<img alt="[{name}]" src="https://h5.sinaimg.cn/m/emoticon/icon/default/{image}-{suffix}.png" '
        f'style="width:1em; height:1em;" />'
    )


class _TextKit:
    """Pieces of Weibo text, plain or with the HTML markup the API sometimes returns."""

    def __init__(self, rng: random.Random, markup: bool) -> None:
        self.rng = rng
        self.html = markup

    def emo(self, happy: bool = True) -> str:
        name = self.rng.choice(_HAPPY_EMOTICONS if happy else tuple(EMOTICONS))
        return _emoticon_html(name) if self.html else f"[{name}]"

    def link(self) -> str:
        url = "http://t.cn/A6" + "".join(self.rng.choice(_TOKEN_ALPHABET) for _ in range(6))
        return f'<a href="{url}" target="_blank">网页链接</a>' if self.html else url

    def mention(self, screen_name: str) -> str:
        return f"<a href='/n/{screen_name}'>@{screen_name}</a>" if self.html else f"@{screen_name}"

    def quote(self, words: str) -> str:
        return f"&quot;{words}&quot;" if self.html else f"“{words}”"

    def both(self, first: str, second: str) -> str:
        return f"{first} &amp; {second}" if self.html else f"{first}和{second}"


class WeiboWorld:
    """Accounts, posts, engagement and comments of a generated Weibo, all deterministic."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        self._brands: list[_Brand] = []
        self._accounts: list[SandboxAccount] = []
        self._index_by_uid: dict[str, int] = {}
        self._brand_of_uid: dict[str, _Brand] = {}
        self._employees_of_brand: dict[str, list[str]] = {}
        self._build_accounts()
        self._uid_by_token = {self.token_for(a.uid): a.uid for a in self._accounts}
        self._day_cache: dict[tuple[str, date], tuple[_Post, ...]] = {}
        self._cache_lock = threading.Lock()

    # ----- accounts and tokens -----

    def _build_accounts(self) -> None:
        for b in range(self.config.brands):
            template = BRAND_TEMPLATES[b % len(BRAND_TEMPLATES)]
            cycle = b // len(BRAND_TEMPLATES)
            suffix = str(cycle + 1) if cycle else ""
            brand = _Brand(
                index=b,
                brand_id=f"{template.brand_id}{suffix}",
                name=f"{template.name}{suffix}",
                template=template,
                official_uid=str(6000000001 + b * 1000),
            )
            self._brands.append(brand)
            self._add_account(
                SandboxAccount(
                    uid=brand.official_uid,
                    screen_name=f"{template.official_screen_name}{suffix}",
                    kind="brand",
                    brand_id=brand.brand_id,
                    brand_name=brand.name,
                    department=None,
                ),
                brand,
            )
            employees: list[str] = []
            for e, department in enumerate(department_sequence(self.config.employees_per_brand)):
                nick = _NICKNAMES[e % len(_NICKNAMES)]
                if e >= len(_NICKNAMES):
                    nick += str(e // len(_NICKNAMES) + 1)
                pattern = _NICK_PATTERNS[e % len(_NICK_PATTERNS)]
                screen_name = pattern.format(short=template.short + suffix, nick=nick, dept=department)
                uid = str(6000000101 + b * 1000 + e)
                employees.append(uid)
                self._add_account(
                    SandboxAccount(
                        uid=uid,
                        screen_name=screen_name,
                        kind="employee",
                        brand_id=brand.brand_id,
                        brand_name=brand.name,
                        department=department,
                    ),
                    brand,
                )
            self._employees_of_brand[brand.brand_id] = employees

    def _add_account(self, account: SandboxAccount, brand: _Brand) -> None:
        self._index_by_uid[account.uid] = len(self._accounts)
        self._brand_of_uid[account.uid] = brand
        self._accounts.append(account)

    @property
    def accounts(self) -> list[SandboxAccount]:
        return list(self._accounts)

    def account(self, uid: str) -> SandboxAccount | None:
        index = self._index_by_uid.get(str(uid))
        return None if index is None else self._accounts[index]

    def token_for(self, uid: str) -> str:
        """A token shaped like a real one ("2.00" + 28 characters), derived from seed and uid."""
        digest = hashlib.sha256(f"shengliang-sandbox|{self.config.seed}|{uid}".encode()).digest()
        return "2.00" + "".join(_TOKEN_ALPHABET[byte % len(_TOKEN_ALPHABET)] for byte in digest[:28])

    def uid_for_token(self, token: str) -> str | None:
        return self._uid_by_token.get(token)

    # ----- growth of users -----

    def _account_rng(self, uid: str, purpose: str) -> random.Random:
        return random.Random(f"{self.config.seed}|{purpose}|{uid}")

    def followers(self, uid: str, at: datetime) -> int:
        """Followers grow a little every Beijing day (brands ~1e5-1e6, employees ~1e2-1e3)."""
        account = self._require(uid)
        rng = self._account_rng(uid, "followers")
        if account.kind == "brand":
            base, daily = rng.randint(100_000, 900_000), rng.uniform(30, 600)
        else:
            base, daily = rng.randint(120, 900), rng.uniform(0.2, 2.0)
        day_index = (_aware(at).astimezone(BEIJING).date() - FOLLOWERS_REFERENCE_DAY).days
        return max(0, base + math.floor(daily * day_index))

    def user(self, uid: str, now: datetime) -> dict[str, Any]:
        """The users/show object of an account as of now."""
        account = self._require(uid)
        rng = self._account_rng(uid, "profile")
        brand = self._brand_of_uid[uid]
        is_brand = account.kind == "brand"
        created = datetime(
            rng.randint(2010, 2016) if is_brand else rng.randint(2012, 2021),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(8, 22),
            rng.randint(0, 59),
            rng.randint(0, 59),
            tzinfo=BEIJING,
        )
        if is_brand:
            products = "、".join(brand.template.terms[1:3])
            description = f"{brand.name}官方微博，{products}新品资讯第一时间发布。"
        else:
            description = f"{brand.name}{account.department}，日常分享，观点仅代表个人。"
        return {
            "id": int(uid),
            "idstr": uid,
            "screen_name": account.screen_name,
            "name": account.screen_name,
            "province": "31",
            "city": "1000",
            "location": "上海",
            "description": description,
            "url": "",
            "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.50/{hashlib.md5(uid.encode()).hexdigest()[:20]}.jpg",
            "domain": "",
            "gender": "m" if is_brand else rng.choice(("m", "f")),
            "followers_count": self.followers(uid, now),
            "friends_count": rng.randint(80, 400) if is_brand else rng.randint(100, 1200),
            "statuses_count": self._statuses_count(uid, now),
            "favourites_count": rng.randint(0, 300),
            "created_at": format_created_at(created),
            "verified": is_brand,
            "verified_type": 2 if is_brand else -1,
            "verified_reason": f"{brand.name}官方微博" if is_brand else "",
        }

    def _statuses_count(self, uid: str, now: datetime) -> int:
        """A base, plus the daily maximum for each day since the reference day, plus today's posts so far."""
        account = self._require(uid)
        per_day = BRAND_MAX_POSTS_PER_DAY if account.kind == "brand" else EMPLOYEE_MAX_POSTS_PER_DAY
        local_now = _aware(now).astimezone(BEIJING)
        day_index = max(0, (local_now.date() - FOLLOWERS_REFERENCE_DAY).days)
        today = sum(1 for post in self._day_posts(uid, local_now.date()) if post.created <= local_now)
        base = self._account_rng(uid, "statuses").randint(800, 6000 if account.kind == "brand" else 1500)
        return base + day_index * per_day + today

    # ----- posts -----

    def _require(self, uid: str) -> SandboxAccount:
        account = self.account(uid)
        if account is None:
            raise KeyError(f"unknown sandbox uid {uid}")
        return account

    def _day_posts(self, uid: str, day: date) -> tuple[_Post, ...]:
        key = (uid, day)
        cached = self._day_cache.get(key)
        if cached is not None:
            return cached
        posts = self._generate_day(uid, day)  # deterministic: a race only computes it twice
        with self._cache_lock:
            self._day_cache[key] = posts
        return posts

    def _post_id(self, uid: str, created: datetime, seq: int) -> int:
        seconds = int(created.timestamp()) - POST_ID_EPOCH
        return POST_ID_BASE + seconds * 10_000 + self._index_by_uid[uid] * 100 + seq

    def _decode_id(self, post_id: int) -> tuple[str, datetime, int] | None:
        """(uid, publish time, seq) encoded in a post id, or None when it cannot be a world post."""
        offset = post_id - POST_ID_BASE
        if offset < 0:
            return None
        seconds, low = divmod(offset, 10_000)
        index, seq = divmod(low, 100)
        if index >= len(self._accounts) or seq >= COMMENT_SEQ_OFFSET:
            return None
        created = datetime.fromtimestamp(POST_ID_EPOCH + seconds, BEIJING)
        return self._accounts[index].uid, created, seq

    def _generate_day(self, uid: str, day: date) -> tuple[_Post, ...]:
        account = self._require(uid)
        rng = random.Random(f"{self.config.seed}|posts|{uid}|{day.isoformat()}")
        midnight = datetime.combine(day, time(0, 0), BEIJING)
        if account.kind == "brand":
            count = rng.randint(2, BRAND_MAX_POSTS_PER_DAY)
            offsets = sorted(rng.randint(7 * 3600 + 1800, 22 * 3600 + 1800) for _ in range(count))
        else:
            count = rng.choices(
                range(EMPLOYEE_MAX_POSTS_PER_DAY + 1), weights=EMPLOYEE_POSTS_PER_DAY_WEIGHTS
            )[0]
            offsets = sorted(rng.randint(8 * 3600, 23 * 3600 + 2700) for _ in range(count))
        posts: list[_Post] = []
        for seq, offset in enumerate(offsets):
            created = midnight + timedelta(seconds=offset)
            post_id = self._post_id(uid, created, seq)
            if account.kind == "brand":
                posts.append(self._brand_post(rng, account, post_id, created))
            else:
                posts.append(self._employee_post(rng, account, post_id, created, day))
        return tuple(posts)

    def _pics(self, rng: random.Random, chance: float) -> tuple[str, ...]:
        if rng.random() >= chance:
            return ()
        amount = rng.choice((1, 1, 2, 3, 4, 6, 9))
        return tuple(f"{rng.getrandbits(128):032x}" for _ in range(amount))

    def _source(self, rng: random.Random, names: tuple[str, ...]) -> str:
        code = "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(6))
        return f'<a href="http://app.weibo.com/t/feed/{code}" rel="nofollow">{rng.choice(names)}</a>'

    def _mentionable(self, account: SandboxAccount) -> list[str]:
        brand = self._brand_of_uid[account.uid]
        own = [brand.official_uid, *self._employees_of_brand[brand.brand_id]]
        names = [self._require(u).screen_name for u in own if u != account.uid]
        return names + list(_KOLS)

    def _brand_post(
        self, rng: random.Random, account: SandboxAccount, post_id: int, created: datetime
    ) -> _Post:
        tpl = self._brand_of_uid[account.uid].template
        markup = rng.random() < 0.2
        kit = _TextKit(rng, markup)
        term, term2 = rng.sample(tpl.terms, 2)
        topic = rng.choice(tpl.topics)
        mention = rng.choice(self._mentionable(account))
        is_long = rng.random() < 0.2
        if is_long:
            full = self._long_text(rng, tpl, term, term2, topic)
            cut = rng.randint(128, 138)
            text = f"{full[:cut]}... 全文： http://m.weibo.cn/{account.uid}/{post_id}"
            text_length = len(full)
        else:
            templates = (
                f"{topic}{term}今天正式上线啦{kit.emo()}！转发本条微博并@两位好友，抽3位送出{term2}体验券"
                f"{kit.emo()} 详情戳 {kit.link()}",
                f"周末打卡{term}，{term2}也安排上了{kit.emo()} {topic} {kit.link()}",
                f"【{term}】你们呼声最高的{kit.quote(term2)}回来了！{kit.emo()}{topic}",
                f"感谢{kit.mention(mention)} 的用心推荐{kit.emo()}，{kit.both(term, term2)}哪个是你的心头好？"
                f"评论区告诉我们～{topic}",
                f"{topic}{term}常见问题解答来啦{kit.emo()} 有任何问题欢迎私信小编，或者点击 {kit.link()}",
                f"今日份{term}已送达{kit.emo()}{kit.emo()} {kit.mention(mention)} 快来看看吧 {topic}",
            )
            text = rng.choice(templates)
            text_length = visible_length(text)
        return _Post(
            id=post_id,
            uid=account.uid,
            created=created,
            text=text,
            text_length=text_length,
            is_long=is_long,
            pic_ids=self._pics(rng, 0.6),
            source=self._source(rng, _SOURCES_BRAND),
            retweeted_id=None,
            string_counts=rng.random() < 1 / 7,
        )

    def _long_text(self, rng: random.Random, tpl: BrandTemplate, term: str, term2: str, topic: str) -> str:
        kit = _TextKit(rng, markup=False)
        sentences = [
            f"{topic}【{term}全新升级】",
            f"这一次，我们花了整整一年时间打磨{term2}，从原料到工艺，每一个细节都反复推敲{kit.emo()}。",
            f"很多朋友在评论区问{term}什么时候回归，今天终于可以正式告诉大家：它回来了，而且更{tpl.adjectives[0]}了！",
            f"即日起到本月底，关注并转发本条微博，我们将抽出10位朋友送出{term2}限定礼盒{kit.emo()}。",
            f"活动细则请戳 {kit.link()} ，最终解释权归{tpl.name}所有。",
            f"感谢每一位一路陪伴的你，{tpl.name}会继续努力，带来更{tpl.adjectives[-1]}的{term}{kit.emo()}。",
        ]
        text = "".join(sentences)
        return text if len(text) > 150 else text + "期待你的反馈！" * 3

    def _employee_post(
        self, rng: random.Random, account: SandboxAccount, post_id: int, created: datetime, day: date
    ) -> _Post:
        brand = self._brand_of_uid[account.uid]
        tpl = brand.template
        parent: _Post | None = None
        if rng.random() < 0.5:
            parent = self._pick_repost_parent(rng, account, created, day)
        markup = rng.random() < 0.2
        kit = _TextKit(rng, markup)
        term, term2 = rng.sample(tpl.terms, 2)
        topic = rng.choice(tpl.topics)
        mention = rng.choice(self._mentionable(account))
        official = self._require(brand.official_uid).screen_name
        if parent is not None:
            choices = [
                "转发微博",
                "转发微博",
                f"冲！{kit.emo()}",
                f"太棒了{kit.emo()}{kit.emo()}",
                f"支持{term}{kit.emo()}",
                f"我们{account.department}的心血！{kit.emo()}",
                f"已经在用了，{term}确实{rng.choice(tpl.adjectives)}{kit.emo()}",
                f"哈哈哈哈哈{kit.emo()}",
                f"{kit.mention(mention)} 快看{kit.emo()}",
            ]
            author = self._require(parent.uid)
            if author.kind == "employee":
                choices += [
                    f"帮{author.department}的小伙伴扩散一下{kit.emo()}",
                    f"{author.department}的同事太强了{kit.emo()}",
                ]
            words = rng.choice(choices)
            if parent.retweeted_id is not None:  # reposting a repost keeps the chain
                words += f"//@{self._require(parent.uid).screen_name}:{parent.text}"
            text = words
            root = parent.retweeted_id or parent.id
            pics: tuple[str, ...] = ()
        else:
            text = rng.choice(
                (
                    f"今天在公司第一次体验{term}，真的太{rng.choice(tpl.adjectives)}了{kit.emo()} {topic}",
                    f"加班到现在，还好有{term}陪我{kit.emo(happy=False)}",
                    f"{kit.mention(official)} 的新活动大家冲呀{kit.emo()}{kit.emo()} {kit.link()}",
                    f"{topic} 作为{account.department}的一员，偷偷剧透一下"
                    f"{kit.quote(self._leak(tpl, term2, post_id))}{kit.emo()}",
                    f"下班路上{kit.emo(happy=False)} 明天继续为{term}努力",
                    f"今晚又在改{kit.quote(self._slip(post_id))}，{account.department}的灯还亮着"
                    f"{kit.emo(happy=False)}",
                    f"{kit.both(term, term2)}，你们更喜欢哪个？{kit.emo()} {kit.mention(mention)}",
                )
            )
            root = None
            pics = self._pics(rng, 0.3)
        return _Post(
            id=post_id,
            uid=account.uid,
            created=created,
            text=text,
            text_length=visible_length(text),
            is_long=False,
            pic_ids=pics,
            source=self._source(rng, _SOURCES_EMPLOYEE),
            retweeted_id=root,
            string_counts=rng.random() < 1 / 7,
        )

    @staticmethod
    def _leak(tpl: BrandTemplate, term: str, post_id: int) -> str:
        """Every third teaser names an unreleased product instead (no random draw: the world stays put)."""
        if tpl.leaks and post_id % 3 == 0:
            return tpl.leaks[post_id // 3 % len(tpl.leaks)]
        return term

    @staticmethod
    def _slip(post_id: int) -> str:
        """Every other late-night document is a confidential financial one (no random draw either)."""
        if post_id // 10_000 % 2 == 0:
            return _FINANCIAL_SLIPS[post_id // 20_000 % len(_FINANCIAL_SLIPS)]
        return "周报"

    def _pick_repost_parent(
        self, rng: random.Random, account: SandboxAccount, created: datetime, day: date
    ) -> _Post | None:
        """What an employee reposts: a brand post of the own brand (same or previous day), a colleague's
        earlier repost (the chain grows), or a colleague's own earlier post (the department plan
        interleaves departments, so that colleague is mostly in another one)."""
        brand = self._brand_of_uid[account.uid]
        latest = created - timedelta(seconds=60)
        days = (day - timedelta(days=1), day)
        originals = [p for d in days for p in self._day_posts(brand.official_uid, d) if p.created <= latest]
        colleagues = self._employees_of_brand[brand.brand_id]
        earlier_colleagues = colleagues[: colleagues.index(account.uid)]  # lower index: no cycles
        theirs = [
            p for u in earlier_colleagues for d in days for p in self._day_posts(u, d) if p.created <= latest
        ]
        chains = [p for p in theirs if p.retweeted_id is not None]
        own_posts = [p for p in theirs if p.retweeted_id is None]
        draw = rng.random()
        if chains and draw < 0.3:
            return rng.choice(chains)
        if own_posts and draw >= 0.8:
            return rng.choice(own_posts)
        return rng.choice(originals) if originals else None

    def _visible_posts(self, uid: str, now: datetime) -> list[_Post]:
        """The account's posts inside the `days` window ending at now's Beijing date, newest first."""
        self._require(uid)
        local_now = _aware(now).astimezone(BEIJING)
        posts: list[_Post] = []
        for back in range(self.config.days):
            day = local_now.date() - timedelta(days=back)
            posts.extend(p for p in self._day_posts(uid, day) if p.created <= local_now)
        posts.sort(key=lambda p: p.id, reverse=True)
        return posts

    def _find_post(self, post_id: int) -> _Post | None:
        decoded = self._decode_id(post_id)
        if decoded is None:
            return None
        uid, created, _seq = decoded
        for post in self._day_posts(uid, created.date()):
            if post.id == post_id:
                return post
        return None

    def posts(self, uid: str, now: datetime) -> list[dict[str, Any]]:
        """Statuses of an account visible at now (window of `days` Beijing dates), newest first."""
        return [self.render(post, now) for post in self._visible_posts(uid, now)]

    def post_ids(self, uid: str, now: datetime) -> list[int]:
        return [post.id for post in self._visible_posts(uid, now)]

    def status(self, post_id: int, now: datetime) -> dict[str, Any] | None:
        """One status as of now, or None when it does not exist (yet). Not limited to the window."""
        post = self._find_post(int(post_id))
        if post is None or post.created > _aware(now):
            return None
        return self.render(post, now)

    # ----- engagement -----

    def _engagement_model(
        self, post_id: int
    ) -> tuple[datetime, tuple[int, int, int], tuple[float, float, float]]:
        decoded = self._decode_id(post_id)
        if decoded is None:
            raise KeyError(f"{post_id} is not a sandbox post id")
        uid, created, _seq = decoded
        rng = random.Random(f"{self.config.seed}|engagement|{post_id}")
        if self._require(uid).kind == "brand":
            attitudes = int(math.exp(rng.uniform(math.log(300), math.log(6000))))
            finals = (
                int(attitudes * rng.uniform(0.1, 0.5)),
                int(attitudes * rng.uniform(0.08, 0.3)),
                attitudes,
            )
        else:
            finals = (rng.randint(0, 25), rng.randint(1, 35), rng.randint(5, 90))
        taus = tuple(rng.uniform(3, 12) * 3600 for _ in range(3))
        return created, finals, taus  # type: ignore[return-value]

    @staticmethod
    def _share(elapsed: float, tau: float) -> float:
        """Share of the final total reached after elapsed seconds: 0 at publish, 1 after 3 days."""
        if elapsed <= 0:
            return 0.0
        if elapsed >= SATURATION_SECONDS:
            return 1.0
        return (1 - math.exp(-elapsed / tau)) / (1 - math.exp(-SATURATION_SECONDS / tau))

    def engagement(self, post_id: int, at: datetime) -> tuple[int, int, int]:
        """(reposts, comments, attitudes) of a post at a moment; non-decreasing, final after ~3 days."""
        created, finals, taus = self._engagement_model(int(post_id))
        elapsed = (_aware(at) - created).total_seconds()
        return tuple(  # type: ignore[return-value]
            math.floor(final * self._share(elapsed, tau) + 1e-9)
            for final, tau in zip(finals, taus, strict=True)
        )

    def final_engagement(self, post_id: int) -> tuple[int, int, int]:
        return self._engagement_model(int(post_id))[1]

    # ----- rendering -----

    def _user_in_status(self, uid: str, now: datetime) -> dict[str, Any]:
        user = self.user(uid, now)
        keep = (
            "id", "idstr", "screen_name", "name", "location", "description", "profile_image_url",
            "gender", "followers_count", "friends_count", "statuses_count", "created_at",
            "verified", "verified_type",
        )  # fmt: skip
        return {key: user[key] for key in keep}

    def render(self, post: _Post, now: datetime, trim_user: bool = False) -> dict[str, Any]:
        """A status object as the API returns it, with counts and followers as of now."""
        reposts, comments, attitudes = self.engagement(post.id, now)
        counts: dict[str, Any] = {
            "reposts_count": reposts,
            "comments_count": comments,
            "attitudes_count": attitudes,
        }
        if post.string_counts:
            counts = {key: str(value) for key, value in counts.items()}
        host = "wx" + str(1 + post.id % 4)
        pic_urls = [
            {"thumbnail_pic": f"http://{host}.sinaimg.cn/thumbnail/{pic}.jpg"} for pic in post.pic_ids
        ]
        status: dict[str, Any] = {
            "created_at": format_created_at(post.created),
            "id": post.id,
            "idstr": str(post.id),
            "mid": str(post.id),
            "text": post.text,
            "textLength": post.text_length,
            "source_allowclick": 0,
            "source_type": 1,
            "source": post.source,
            "favorited": False,
            "truncated": False,
            "isLongText": post.is_long,
            "in_reply_to_status_id": "",
            "in_reply_to_user_id": "",
            "in_reply_to_screen_name": "",
            "pic_urls": pic_urls,
            "geo": None,
            **counts,
            "mlevel": 0,
            "visible": {"type": 0, "list_id": 0},
        }
        if pic_urls:
            first = pic_urls[0]["thumbnail_pic"]
            status["thumbnail_pic"] = first
            status["bmiddle_pic"] = first.replace("/thumbnail/", "/bmiddle/")
            status["original_pic"] = first.replace("/thumbnail/", "/large/")
        if trim_user:
            status["user"] = {"id": int(post.uid), "idstr": post.uid}
        else:
            status["user"] = self._user_in_status(post.uid, now)
        if post.retweeted_id is not None:
            original = self._find_post(post.retweeted_id)
            if original is not None:
                status["retweeted_status"] = self.render(original, now, trim_user)
        return status

    def count_entry(self, post_id: int, now: datetime) -> dict[str, Any] | None:
        """One statuses/count entry, or None when the post does not exist at now."""
        post = self._find_post(int(post_id))
        if post is None or post.created > _aware(now):
            return None
        reposts, comments, attitudes = self.engagement(post.id, now)
        entry: dict[str, Any] = {"id": post.id, "idstr": str(post.id)}
        values = {"comments": comments, "reposts": reposts, "attitudes": attitudes}
        entry.update({k: str(v) for k, v in values.items()} if post.string_counts else values)
        return entry

    # ----- comments -----

    def comments(self, post_id: int, now: datetime) -> list[dict[str, Any]] | None:
        """Comments visible at now (at most 200), newest first; None when the post does not exist."""
        post = self._find_post(int(post_id))
        now = _aware(now)
        if post is None or post.created > now:
            return None
        created, finals, taus = self._engagement_model(post.id)
        final, tau = finals[1], taus[1]
        visible = min(self.engagement(post.id, now)[1], MAX_COMMENTS_PER_POST)
        author_index = self._index_by_uid[post.uid]
        tpl = self._brand_of_uid[post.uid].template
        result: list[dict[str, Any]] = []
        norm = 1 - math.exp(-SATURATION_SECONDS / tau)
        for k in range(1, visible + 1):
            # The moment the comment count reached k, from the inverse of the growth curve.
            share = min(k / final, 1.0) * norm
            elapsed = math.ceil(-tau * math.log(max(1 - share, 1e-12)))
            moment = min(created + timedelta(seconds=elapsed), now)
            rng = random.Random(f"{self.config.seed}|comment|{post.id}|{k}")
            seconds = int(moment.timestamp()) - POST_ID_EPOCH
            comment_id = POST_ID_BASE + seconds * 10_000 + author_index * 100 + COMMENT_SEQ_OFFSET + k % 50
            commenter = str(7_000_000_000 + rng.randint(0, 999_999_999))
            text = rng.choice(
                (
                    f"{rng.choice(tpl.terms)}真的{rng.choice(tpl.adjectives)}[{rng.choice(_HAPPY_EMOTICONS)}]",
                    "已转发，求抽中[打call][打call]",
                    f"什么时候出{rng.choice(tpl.terms)}的新款？[思考]",
                    "前排[doge]",
                    f"上次买的{rng.choice(tpl.terms)}有点失望[失望]",
                    "冲冲冲[鼓掌]",
                    f"回复@{rng.choice(_KOLS)}:同感[赞]",
                    "哈哈哈哈哈哈[笑cry]",
                )
            )
            result.append(
                {
                    "created_at": format_created_at(moment),
                    "id": comment_id,
                    "idstr": str(comment_id),
                    "mid": str(comment_id),
                    "text": text,
                    "source": '<a href="http://weibo.com/" rel="nofollow">微博 weibo.com</a>',
                    "user": {
                        "id": int(commenter),
                        "idstr": commenter,
                        "screen_name": rng.choice(
                            ("奶茶续命星人", "数码控小张", "爱吃桂花糕", "今天也要早睡")
                        )
                        + str(rng.randint(10, 9999)),
                        "followers_count": rng.randint(0, 3000),
                    },
                    "status": {"id": post.id, "idstr": str(post.id)},
                }
            )
        result.sort(key=lambda c: c["id"], reverse=True)
        return result
