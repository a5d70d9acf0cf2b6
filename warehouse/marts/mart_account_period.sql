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
columns_from: int_account_period
columns:
  account_key: inherit
  platform: inherit
  brand_id: inherit
  account_kind: inherit
  department: inherit
  period: {description: "week or month", tests: [not_null, {accepted_values: [week, month]}]}
  period_start: {description: "first day of the period (Monday, or the 1st)", tests: [not_null]}
  period_end: {description: "last day of the period", tests: [not_null]}
  period_days: {description: "d: days in the period", tests: [not_null]}
  is_period_complete: {description: "every day of the period is on or before the platform's latest date with an account read completely", tests: [not_null]}
  posts: inherit
  reposts: inherit
  comments: inherit
  likes: inherit
  engagement: inherit
  engagement_gain: inherit
  followers_at_publish: inherit
  posts_without_counts: inherit
  followers: inherit
  followers_change: inherit
  engagement_rate: inherit
  is_rate_outlier: inherit
  amplification: inherit
  conversation: inherit
  applause: inherit
  bci_w1: {description: "BCI W1", formula: "ln(posts + 1)", tests: [finite]}
  bci_w2: {description: "BCI W2", formula: "0.4 ln(reposts + 1) + 0.4 ln(comments + 1) + 0.2 ln(likes + 1)", tests: [finite]}
  bci: inherit
  articles: inherit
  reads: inherit
  readers: inherit
  shares: inherit
  favourites: inherit
  read_rate: inherit
  new_followers: inherit
  lost_followers: inherit
  wci_articles: inherit
  wci_reads: inherit
  wci_wow: inherit
  wci_likes: inherit
  wci_shares: inherit
  wci_headline_reads: inherit
  wci_headline_wow: inherit
  wci_headline_likes: inherit
  wci_headline_shares: inherit
  wci_max_reads: inherit
  wci_max_wow: inherit
  wci_max_likes: inherit
  wci_max_shares: inherit
  is_wci_zl_missing: inherit
  wci_o: inherit
  wci_a: inherit
  wci_h: inherit
  wci_p: inherit
  wci: inherit
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
