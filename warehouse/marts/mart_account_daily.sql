/*
name: mart_account_daily
materialized: table
depends_on: [int_account_period]
grain: one row per account per Beijing date on which it was read or has data
formula_version: "BCI as republished from Qingbo (version unverified); WCI V14.2"
description: >
  The KPI table of every registered account, one row per day: posts and their engagement as of the
  day's snapshot, engagement gained by every tracked post, followers and their change, engagement
  rate and BCI (Weibo); articles, reads, read rate, follower moves and WCI with its parts and inputs
  (WeChat). Weibo columns are NULL on WeChat rows and the other way round. WCI counts 在看 (Z) and
  likes (L) as 0 where they were not collected (is_wci_zl_missing).
unique_key: [account_key, stat_date]
indexes: [[brand_id, stat_date], [stat_date]]
columns_from: int_account_period
columns:
  account_key: inherit
  platform: inherit
  brand_id: inherit
  account_kind: inherit
  department: inherit
  stat_date: {description: "Beijing date", tests: [not_null]}
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
SELECT
    account_key,
    platform,
    brand_id,
    account_kind,
    department,
    period_start AS stat_date,
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
FROM int_account_period
WHERE period = 'day'
