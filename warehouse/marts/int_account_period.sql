/*
name: int_account_period
materialized: table
depends_on: [int_calendar, int_post_period, int_article_period, int_post_snapshot]
grain: one row per account per period (day, week, month) in which the account was read or has data
description: >
  The account figures of METRICS.md per period, the base of mart_account_daily and
  mart_account_period. Posts and articles of the period are those published in it, with their counts
  at the latest snapshot on or before the period's last day. Daily account figures (followers, reads,
  shares, follower moves) are summed over the period's days; followers is the latest figure in it.
unique_key: [account_key, period, period_start]
indexes: [[brand_id, period, period_start]]
columns:
  account_key: {description: "see dim_account", tests: [not_null, {relationships: dim_account.account_key}]}
  platform: {description: "weibo or wechat", tests: [not_null]}
  brand_id: {description: "brand of the account", tests: [not_null, {relationships: dim_brand.brand_id}]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  department: {description: "employees only"}
  period: {description: "day, week or month", tests: [not_null]}
  period_start: {description: "first day of the period", tests: [not_null]}
  period_end: {description: "last day of the period", tests: [not_null]}
  period_days: {description: "d: days in the period", tests: [not_null]}
  posts: {description: "Weibo posts published in the period", tests: [{range: {min: 0}}]}
  reposts: {description: "sum of the posts' reposts (NULL while posts_without_counts > 0)", tests: [{range: {min: 0}}]}
  comments: {description: "sum of the posts' comments (NULL while posts_without_counts > 0)", tests: [{range: {min: 0}}]}
  likes: {description: "sum of the posts' likes (NULL while posts_without_counts > 0)", tests: [{range: {min: 0}}]}
  engagement: {description: "reposts + comments + likes of the period's posts (NULL while posts_without_counts > 0)", tests: [{range: {min: 0}}]}
  engagement_gain: {description: "sum of the daily engagement gains of every tracked post, snapshots in the period"}
  followers_at_publish: {description: "sum of the authors' followers when each post was first read"}
  posts_without_counts: {description: "posts of the period with no snapshot by its last day (read later, e.g. published before the account's first run); while above 0, reposts, comments, likes, engagement, their rates, W2 and BCI are NULL: the counts are incomplete", tests: [{range: {min: 0}}]}
  followers: {description: "followers on the period's latest day with a figure", tests: [{range: {min: 0}}]}
  followers_change: {description: "followers minus those of the period before (NULL without both figures)", formula: "followers - followers of the previous period"}
  engagement_rate: {description: "engagement as a share of the authors' followers, %", formula: "engagement / followers_at_publish x 100 (the posts' engagement over their followers when first read)", tests: [{range: {min: 0}}, finite]}
  is_rate_outlier: {description: "engagement_rate above 100%: very few followers"}
  amplification: {description: "reposts per post (Kaushik)", formula: "reposts / posts", tests: [{range: {min: 0}}]}
  conversation: {description: "comments per post (Kaushik)", formula: "comments / posts", tests: [{range: {min: 0}}]}
  applause: {description: "likes per post (Kaushik)", formula: "likes / posts", tests: [{range: {min: 0}}]}
  bci_w1: {description: "BCI W1", formula: "ln(posts + 1)", tests: [finite]}
  bci_w2: {description: "BCI W2", formula: "0.4 ln(reposts + 1) + 0.4 ln(comments + 1) + 0.2 ln(likes + 1)", tests: [finite]}
  bci: {description: "BCI, Weibo Communication Index (Weibo accounts)", formula: "(0.2 W1 + 0.8 W2) x 160", tests: [finite, {range: {min: 0}}]}
  articles: {description: "WeChat articles published in the period", tests: [{range: {min: 0}}]}
  reads: {description: "WeChat article reads on the period's days, all articles (getuserread)", tests: [{range: {min: 0}}]}
  readers: {description: "WeChat readers summed over the period's days (not distinct over days)", tests: [{range: {min: 0}}]}
  shares: {description: "WeChat shares on the period's days (getusershare)", tests: [{range: {min: 0}}]}
  favourites: {description: "WeChat favourites on the period's days (getarticlesummary)", tests: [{range: {min: 0}}]}
  read_rate: {description: "WeChat readers per follower, %", formula: "readers / followers that day x 100 (over a period: summed readers / summed followers of the same days)", tests: [{range: {min: 0}}, finite]}
  new_followers: {description: "WeChat followers gained", tests: [{range: {min: 0}}]}
  lost_followers: {description: "WeChat followers lost", tests: [{range: {min: 0}}]}
  wci_articles: {description: "n: articles of the period with figures", tests: [{range: {min: 0}}]}
  wci_reads: {description: "R: reads of the period's articles, each at most 100,001", tests: [{range: {min: 0}}]}
  wci_wow: {description: "Z: 在看 of the period's articles (0 where not collected)", tests: [{range: {min: 0}}]}
  wci_likes: {description: "L: likes of the period's articles (0 where not collected)", tests: [{range: {min: 0}}]}
  wci_shares: {description: "RE: shares of the period's articles", tests: [{range: {min: 0}}]}
  wci_headline_reads: {description: "R over headline articles"}
  wci_headline_wow: {description: "Z over headline articles"}
  wci_headline_likes: {description: "L over headline articles"}
  wci_headline_shares: {description: "RE over headline articles"}
  wci_max_reads: {description: "largest single-article R"}
  wci_max_wow: {description: "largest single-article Z"}
  wci_max_likes: {description: "largest single-article L"}
  wci_max_shares: {description: "largest single-article RE"}
  is_wci_zl_missing: {description: "Z or L were not collected and WCI counts them as 0"}
  wci_o: {description: "WCI O (overall)", formula: "0.70 ln(R/d + 1) + 0.09 ln(10Z/d + 1) + 0.06 ln(10L/d + 1) + 0.15 ln(10RE/d + 1)", tests: [finite]}
  wci_a: {description: "WCI A (average per article)", formula: "as O with n instead of d", tests: [finite]}
  wci_h: {description: "WCI H (headline articles, per day)", formula: "as O over headline (position 1) articles", tests: [finite]}
  wci_p: {description: "WCI P (peak)", formula: "0.70 ln(Rmax + 1) + 0.09 ln(10 Zmax + 1) + 0.06 ln(10 Lmax + 1) + 0.15 ln(10 REmax + 1)", tests: [finite]}
  wci: {description: "WCI V14.2 (WeChat accounts; NULL for a period without articles with figures)", formula: "(0.6 O + 0.2 A + 0.1 H + 0.1 P)^2 x 1.2 x 10", tests: [finite, {range: {min: 0}}]}
*/
WITH active_dates AS (
    SELECT platform || ':' || account_id AS account_key, data_date AS date_key FROM etl_account_run
    UNION
    SELECT account_key, stat_date FROM fct_account_daily
    UNION
    SELECT account_key, publish_date FROM fct_post
    UNION
    SELECT account_key, snapshot_date FROM fct_post_engagement_daily
    UNION
    SELECT account_key, publish_date FROM fct_article
),

spine AS (
    SELECT DISTINCT d.account_key, c.period, c.period_start, c.period_end, c.period_days
    FROM active_dates d
    JOIN dim_account a ON a.account_key = d.account_key
    JOIN int_calendar c ON c.date_key = d.date_key
),

posts AS (
    SELECT
        account_key,
        period,
        period_start,
        COUNT(*) AS posts,
        CAST(COALESCE(SUM(reposts), 0) AS BIGINT) AS reposts,
        CAST(COALESCE(SUM(comments), 0) AS BIGINT) AS comments,
        CAST(COALESCE(SUM(likes), 0) AS BIGINT) AS likes,
        CAST(COALESCE(SUM(engagement), 0) AS BIGINT) AS engagement,
        CAST(SUM(CASE WHEN engagement IS NOT NULL THEN followers_at_publish END) AS BIGINT)
            AS followers_at_publish,
        COUNT(*) - COUNT(engagement) AS posts_without_counts
    FROM int_post_period
    GROUP BY account_key, period, period_start
),

gains AS (
    SELECT s.account_key, c.period, c.period_start, CAST(SUM(s.engagement_gain) AS BIGINT) AS engagement_gain
    FROM int_post_snapshot s
    JOIN int_calendar c ON c.date_key = s.snapshot_date
    GROUP BY s.account_key, c.period, c.period_start
),

account_days AS (
    SELECT
        f.account_key,
        c.period,
        c.period_start,
        CAST(SUM(f.reads) AS BIGINT) AS reads,
        CAST(SUM(f.readers) AS BIGINT) AS readers,
        CAST(SUM(f.shares) AS BIGINT) AS shares,
        CAST(SUM(CASE WHEN f.readers IS NOT NULL THEN f.followers END) AS BIGINT) AS follower_days,
        CAST(SUM(f.new_followers) AS BIGINT) AS new_followers,
        CAST(SUM(f.lost_followers) AS BIGINT) AS lost_followers
    FROM fct_account_daily f
    JOIN int_calendar c ON c.date_key = f.stat_date
    GROUP BY f.account_key, c.period, c.period_start
),

latest_followers AS (
    SELECT account_key, period, period_start, followers
    FROM (
        SELECT
            f.account_key,
            c.period,
            c.period_start,
            f.followers,
            ROW_NUMBER() OVER (
                PARTITION BY f.account_key, c.period, c.period_start ORDER BY f.stat_date DESC
            ) AS recency
        FROM fct_account_daily f
        JOIN int_calendar c ON c.date_key = f.stat_date
        WHERE f.followers IS NOT NULL
    ) ranked
    WHERE recency = 1
),

favourites AS (
    SELECT d.account_key, c.period, c.period_start, CAST(SUM(d.day_favourites) AS BIGINT) AS favourites
    FROM fct_article_daily d
    JOIN int_calendar c ON c.date_key = d.stat_date
    GROUP BY d.account_key, c.period, c.period_start
),

articles AS (
    SELECT
        account_key,
        period,
        period_start,
        COUNT(*) AS articles,
        COUNT(reads) AS wci_articles,
        CAST(COALESCE(SUM(reads_capped), 0) AS BIGINT) AS wci_reads,
        CAST(COALESCE(SUM(wow), 0) AS BIGINT) AS wci_wow,
        CAST(COALESCE(SUM(likes), 0) AS BIGINT) AS wci_likes,
        CAST(COALESCE(SUM(shares), 0) AS BIGINT) AS wci_shares,
        CAST(COALESCE(SUM(CASE WHEN position = 1 THEN reads_capped END), 0) AS BIGINT) AS wci_headline_reads,
        CAST(COALESCE(SUM(CASE WHEN position = 1 THEN wow END), 0) AS BIGINT) AS wci_headline_wow,
        CAST(COALESCE(SUM(CASE WHEN position = 1 THEN likes END), 0) AS BIGINT) AS wci_headline_likes,
        CAST(COALESCE(SUM(CASE WHEN position = 1 THEN shares END), 0) AS BIGINT) AS wci_headline_shares,
        CAST(COALESCE(MAX(reads_capped), 0) AS BIGINT) AS wci_max_reads,
        CAST(COALESCE(MAX(wow), 0) AS BIGINT) AS wci_max_wow,
        CAST(COALESCE(MAX(likes), 0) AS BIGINT) AS wci_max_likes,
        CAST(COALESCE(MAX(shares), 0) AS BIGINT) AS wci_max_shares,
        COUNT(reads) > COUNT(wow) OR COUNT(reads) > COUNT(likes) AS is_wci_zl_missing
    FROM int_article_period
    GROUP BY account_key, period, period_start
),

figures AS (
    SELECT
        s.account_key,
        a.platform,
        a.brand_id,
        a.account_kind,
        a.department,
        s.period,
        s.period_start,
        s.period_end,
        s.period_days,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.posts, 0) END AS posts,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.reposts, 0) END AS reposts,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.comments, 0) END AS comments,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.likes, 0) END AS likes,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.engagement, 0) END AS engagement,
        g.engagement_gain,
        p.followers_at_publish,
        CASE WHEN a.platform = 'weibo' THEN COALESCE(p.posts_without_counts, 0) END AS posts_without_counts,
        lf.followers,
        CASE WHEN a.platform = 'wechat' THEN COALESCE(r.articles, 0) END AS articles,
        ad.reads,
        ad.readers,
        ad.shares,
        fv.favourites,
        ad.follower_days,
        ad.new_followers,
        ad.lost_followers,
        CASE WHEN a.platform = 'wechat' THEN COALESCE(r.wci_articles, 0) END AS wci_articles,
        r.wci_reads,
        r.wci_wow,
        r.wci_likes,
        r.wci_shares,
        r.wci_headline_reads,
        r.wci_headline_wow,
        r.wci_headline_likes,
        r.wci_headline_shares,
        r.wci_max_reads,
        r.wci_max_wow,
        r.wci_max_likes,
        r.wci_max_shares,
        CASE WHEN a.platform = 'wechat' THEN COALESCE(r.is_wci_zl_missing, FALSE) END AS is_wci_zl_missing
    FROM spine s
    JOIN dim_account a ON a.account_key = s.account_key
    LEFT JOIN posts p ON p.account_key = s.account_key AND p.period = s.period AND p.period_start = s.period_start
    LEFT JOIN gains g ON g.account_key = s.account_key AND g.period = s.period AND g.period_start = s.period_start
    LEFT JOIN account_days ad
        ON ad.account_key = s.account_key AND ad.period = s.period AND ad.period_start = s.period_start
    LEFT JOIN latest_followers lf
        ON lf.account_key = s.account_key AND lf.period = s.period AND lf.period_start = s.period_start
    LEFT JOIN favourites fv
        ON fv.account_key = s.account_key AND fv.period = s.period AND fv.period_start = s.period_start
    LEFT JOIN articles r ON r.account_key = s.account_key AND r.period = s.period AND r.period_start = s.period_start
),

with_previous AS (
    SELECT
        f.*,
        LAG(f.period_start) OVER (PARTITION BY f.account_key, f.period ORDER BY f.period_start)
            AS previous_start,
        LAG(f.followers) OVER (PARTITION BY f.account_key, f.period ORDER BY f.period_start)
            AS previous_followers
    FROM figures f
),

wci_parts AS (
    SELECT
        w.*,
        CASE WHEN wci_articles > 0 THEN
            0.70 * LN(CAST(wci_reads AS DOUBLE PRECISION) / period_days + 1)
            + 0.09 * LN(10.0 * wci_wow / period_days + 1)
            + 0.06 * LN(10.0 * wci_likes / period_days + 1)
            + 0.15 * LN(10.0 * wci_shares / period_days + 1)
        END AS wci_o,
        CASE WHEN wci_articles > 0 THEN
            0.70 * LN(CAST(wci_reads AS DOUBLE PRECISION) / wci_articles + 1)
            + 0.09 * LN(10.0 * wci_wow / wci_articles + 1)
            + 0.06 * LN(10.0 * wci_likes / wci_articles + 1)
            + 0.15 * LN(10.0 * wci_shares / wci_articles + 1)
        END AS wci_a,
        CASE WHEN wci_articles > 0 THEN
            0.70 * LN(CAST(wci_headline_reads AS DOUBLE PRECISION) / period_days + 1)
            + 0.09 * LN(10.0 * wci_headline_wow / period_days + 1)
            + 0.06 * LN(10.0 * wci_headline_likes / period_days + 1)
            + 0.15 * LN(10.0 * wci_headline_shares / period_days + 1)
        END AS wci_h,
        CASE WHEN wci_articles > 0 THEN
            0.70 * LN(CAST(wci_max_reads AS DOUBLE PRECISION) + 1)
            + 0.09 * LN(10.0 * wci_max_wow + 1)
            + 0.06 * LN(10.0 * wci_max_likes + 1)
            + 0.15 * LN(10.0 * wci_max_shares + 1)
        END AS wci_p,
        LN(CAST(posts AS DOUBLE PRECISION) + 1) AS bci_w1,
        0.4 * LN(CAST(reposts AS DOUBLE PRECISION) + 1)
        + 0.4 * LN(CAST(comments AS DOUBLE PRECISION) + 1)
        + 0.2 * LN(CAST(likes AS DOUBLE PRECISION) + 1) AS bci_w2
    FROM with_previous w
)

SELECT
    account_key, platform, brand_id, account_kind, department, period, period_start, period_end, period_days,
    posts,
    CASE WHEN posts_without_counts = 0 THEN reposts END AS reposts,
    CASE WHEN posts_without_counts = 0 THEN comments END AS comments,
    CASE WHEN posts_without_counts = 0 THEN likes END AS likes,
    CASE WHEN posts_without_counts = 0 THEN engagement END AS engagement,
    engagement_gain, followers_at_publish, posts_without_counts,
    followers,
    CASE
        WHEN previous_start = CAST(period_start - CAST(
            CASE period WHEN 'day' THEN INTERVAL '1 day' WHEN 'week' THEN INTERVAL '7 days'
            ELSE INTERVAL '1 month' END AS INTERVAL) AS DATE)
        THEN followers - previous_followers
    END AS followers_change,
    CASE WHEN posts_without_counts = 0 THEN
        CAST(engagement AS DOUBLE PRECISION) * 100 / NULLIF(followers_at_publish, 0)
    END AS engagement_rate,
    CASE WHEN posts_without_counts = 0 THEN
        CAST(engagement AS DOUBLE PRECISION) * 100 / NULLIF(followers_at_publish, 0) > 100
    END AS is_rate_outlier,
    CASE WHEN posts_without_counts = 0 THEN CAST(reposts AS DOUBLE PRECISION) / NULLIF(posts, 0) END
        AS amplification,
    CASE WHEN posts_without_counts = 0 THEN CAST(comments AS DOUBLE PRECISION) / NULLIF(posts, 0) END
        AS conversation,
    CASE WHEN posts_without_counts = 0 THEN CAST(likes AS DOUBLE PRECISION) / NULLIF(posts, 0) END AS applause,
    bci_w1,
    CASE WHEN posts_without_counts = 0 THEN bci_w2 END AS bci_w2,
    CASE WHEN posts_without_counts = 0 THEN (0.2 * bci_w1 + 0.8 * bci_w2) * 160 END AS bci,
    articles, reads, readers, shares, favourites,
    CAST(readers AS DOUBLE PRECISION) * 100 / NULLIF(follower_days, 0) AS read_rate,
    new_followers, lost_followers,
    wci_articles, wci_reads, wci_wow, wci_likes, wci_shares,
    wci_headline_reads, wci_headline_wow, wci_headline_likes, wci_headline_shares,
    wci_max_reads, wci_max_wow, wci_max_likes, wci_max_shares, is_wci_zl_missing,
    wci_o, wci_a, wci_h, wci_p,
    POWER(0.6 * wci_o + 0.2 * wci_a + 0.1 * wci_h + 0.1 * wci_p, 2) * 1.2 * 10 AS wci
FROM wci_parts
