/*
name: mart_key_figures_daily
materialized: table
depends_on: [mart_account_daily]
grain: one row per brand account, Beijing date and key figure
description: >
  The daily report's key figures of each brand account (employees' accounts are in the advocacy
  marts), with their change against the day before and against the trailing 7-day average (the 7
  days before the date; days without a figure are left out of the average, trailing_7d_days says
  how many it has, and with fewer than 3 the average and its change are NULL: a "7-day average" of
  one or two days would only repeat the day before). Weibo: posts, engagement, engagement_gain,
  engagement_rate, followers, bci; WeChat: articles, reads, read_rate, shares, followers, wci. The
  values are mart_account_daily's, with its NULLs (no figure) kept.
unique_key: [account_key, stat_date, metric]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  account_key: {description: "the brand account", tests: [not_null, {relationships: dim_account.account_key}]}
  platform: {description: "weibo or wechat", tests: [not_null, {accepted_values: [weibo, wechat]}]}
  stat_date: {description: "Beijing date", tests: [not_null]}
  metric:
    description: "the mart_account_daily column"
    tests: [not_null, {accepted_values: [posts, engagement, engagement_gain, engagement_rate, followers, bci, articles, reads, read_rate, shares, wci]}]
  value: {description: "the figure of the date (NULL: no figure)", tests: [finite]}
  previous_value: {description: "the figure of the day before (NULL: no figure)", tests: [finite]}
  change_vs_previous:
    description: "change against the day before"
    formula: "value - previous_value"
    tests: [finite]
  change_vs_previous_pct:
    description: "change against the day before, % (NULL when the day before is 0 or missing)"
    formula: "(value - previous_value) / previous_value x 100"
    tests: [finite]
  trailing_7d_average:
    description: "average of the figures of the 7 days before the date that have one (NULL when fewer than 3 have)"
    formula: "mean of value over [stat_date - 7, stat_date - 1], days without a figure left out"
    tests: [finite]
  trailing_7d_days: {description: "days of the 7 before the date with a figure", tests: [not_null, {range: {min: 0, max: 7}}]}
  change_vs_trailing_7d_pct:
    description: "change against the trailing 7-day average, % (NULL when the average is 0 or missing)"
    formula: "(value - trailing_7d_average) / trailing_7d_average x 100"
    tests: [finite]
*/
WITH brand_accounts AS (
    SELECT * FROM mart_account_daily WHERE account_kind = 'brand'
),

figures AS (
    SELECT brand_id, account_key, platform, stat_date, 'posts' AS metric,
        CAST(posts AS DOUBLE PRECISION) AS value
    FROM brand_accounts WHERE platform = 'weibo'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'engagement', CAST(engagement AS DOUBLE PRECISION)
    FROM brand_accounts WHERE platform = 'weibo'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'engagement_gain',
        CAST(engagement_gain AS DOUBLE PRECISION)
    FROM brand_accounts WHERE platform = 'weibo'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'engagement_rate', engagement_rate
    FROM brand_accounts WHERE platform = 'weibo'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'followers', CAST(followers AS DOUBLE PRECISION)
    FROM brand_accounts
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'bci', bci
    FROM brand_accounts WHERE platform = 'weibo'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'articles', CAST(articles AS DOUBLE PRECISION)
    FROM brand_accounts WHERE platform = 'wechat'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'reads', CAST(reads AS DOUBLE PRECISION)
    FROM brand_accounts WHERE platform = 'wechat'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'read_rate', read_rate
    FROM brand_accounts WHERE platform = 'wechat'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'shares', CAST(shares AS DOUBLE PRECISION)
    FROM brand_accounts WHERE platform = 'wechat'
    UNION ALL
    SELECT brand_id, account_key, platform, stat_date, 'wci', wci
    FROM brand_accounts WHERE platform = 'wechat'
),

compared AS (
    SELECT
        f.brand_id, f.account_key, f.platform, f.stat_date, f.metric, f.value,
        MAX(CASE WHEN b.stat_date = f.stat_date - 1 THEN b.value END) AS previous_value,
        AVG(b.value) AS trailing_7d_average,
        COUNT(b.value) AS trailing_7d_days
    FROM figures f
    LEFT JOIN figures b
        ON b.account_key = f.account_key
        AND b.metric = f.metric
        AND b.stat_date >= f.stat_date - 7
        AND b.stat_date < f.stat_date
    GROUP BY f.brand_id, f.account_key, f.platform, f.stat_date, f.metric, f.value
)

SELECT
    brand_id, account_key, platform, stat_date, metric, value, previous_value,
    value - previous_value AS change_vs_previous,
    CASE WHEN previous_value <> 0 THEN (value - previous_value) / previous_value * 100 END
        AS change_vs_previous_pct,
    CASE WHEN trailing_7d_days >= 3 THEN trailing_7d_average END AS trailing_7d_average,
    CAST(trailing_7d_days AS INTEGER) AS trailing_7d_days,
    CASE WHEN trailing_7d_days >= 3 AND trailing_7d_average <> 0
        THEN (value - trailing_7d_average) / trailing_7d_average * 100 END AS change_vs_trailing_7d_pct
FROM compared
