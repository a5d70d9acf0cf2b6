/*
name: mart_account_period
materialized: view
depends_on: [int_account_period]
grain: one row per account per ISO week and per calendar month in which it was read or has data
formula_version: "BCI as republished from Qingbo (version unverified); WCI V14.2"
description: >
  The figures of mart_account_daily over ISO weeks (Monday to Sunday) and calendar months, Beijing
  time: posts and articles published in the period with their counts at the latest snapshot on or
  before its last day; BCI and WCI over the period with d = the period's days (7, or 28 to 31);
  follower moves, reads and shares summed over its days, followers on its latest day with a figure.
  is_period_complete is false while the period has days after the latest loaded date.
unique_key: [account_key, period, period_start]
columns:
  account_key: {description: "see dim_account", tests: [not_null, {relationships: dim_account.account_key}]}
  platform: {description: "weibo or wechat", tests: [not_null]}
  brand_id: {description: "brand of the account", tests: [not_null]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  department: {description: "employees only"}
  period: {description: "week or month", tests: [not_null, {accepted_values: [week, month]}]}
  period_start: {description: "first day of the period (Monday, or the 1st)", tests: [not_null]}
  period_end: {description: "last day of the period", tests: [not_null]}
  period_days: {description: "d: days in the period", tests: [not_null]}
  is_period_complete: {description: "every day of the period is on or before the platform's latest date with an account read completely", tests: [not_null]}
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
WITH latest AS (
    SELECT platform, MAX(data_date) AS latest_date FROM etl_account_run WHERE status = 'ok' GROUP BY platform
)

SELECT
    account_key,
    p.platform,
    brand_id,
    account_kind,
    department,
    period,
    period_start,
    period_end,
    period_days,
    COALESCE(p.period_end <= l.latest_date, FALSE) AS is_period_complete,
    posts,
    reposts,
    comments,
    likes,
    engagement,
    engagement_gain,
    followers_at_publish,
    posts_without_counts,
    followers,
    followers_change,
    engagement_rate,
    is_rate_outlier,
    amplification,
    conversation,
    applause,
    bci_w1,
    bci_w2,
    bci,
    articles,
    reads,
    readers,
    shares,
    favourites,
    read_rate,
    new_followers,
    lost_followers,
    wci_articles,
    wci_reads,
    wci_wow,
    wci_likes,
    wci_shares,
    wci_headline_reads,
    wci_headline_wow,
    wci_headline_likes,
    wci_headline_shares,
    wci_max_reads,
    wci_max_wow,
    wci_max_likes,
    wci_max_shares,
    is_wci_zl_missing,
    wci_o,
    wci_a,
    wci_h,
    wci_p,
    wci
FROM int_account_period p
LEFT JOIN latest l ON l.platform = p.platform
WHERE p.period IN ('week', 'month')
