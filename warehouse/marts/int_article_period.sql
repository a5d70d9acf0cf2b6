/*
name: int_article_period
materialized: table
depends_on: [int_calendar]
grain: one row per WeChat article per period (day, week, month) containing its publish date
description: >
  The articles of a period with their cumulative figures at the latest stat_date on or before the
  period's last day (getarticletotal). reads_capped counts one article's reads at most 100,001, as WCI
  does. 在看 (wow) and likes come only from the newer statistics endpoints, not collected yet: NULL.
unique_key: [msgid, period]
indexes: [[account_key, period, period_start]]
columns:
  msgid: {description: "<msg_data_id>_<index>", tests: [not_null]}
  account_key: {description: "publisher", tests: [not_null, {relationships: dim_account.account_key}]}
  period: {description: "day, week or month", tests: [not_null]}
  period_start: {description: "first day of the period", tests: [not_null]}
  position: {description: "1 = headline article", tests: [not_null]}
  stat_date: {description: "the stat_date the figures come from"}
  reads: {description: "int_page_read_count, cumulative", tests: [{range: {min: 0}}]}
  reads_capped: {description: "reads, at most 100,001", formula: "reads, at most 100001 (NULL stays NULL)", tests: [{range: {min: 0, max: 100001}}]}
  readers: {description: "int_page_read_user, cumulative", tests: [{range: {min: 0}}]}
  shares: {description: "share_count, cumulative", tests: [{range: {min: 0}}]}
  favourites: {description: "add_to_fav_count, cumulative", tests: [{range: {min: 0}}]}
  wow: {description: "在看 (Z in WCI); NULL: not collected by the older endpoints"}
  likes: {description: "likes (L in WCI); NULL: not collected by the older endpoints"}
*/
WITH article_periods AS (
    SELECT r.msgid, r.account_key, r.position, c.period, c.period_start, c.period_end
    FROM fct_article r
    JOIN int_calendar c ON c.date_key = r.publish_date
),

ranked AS (
    SELECT
        ap.msgid,
        ap.account_key,
        ap.period,
        ap.period_start,
        ap.position,
        d.stat_date,
        d.reads,
        d.readers,
        d.shares,
        d.favourites,
        ROW_NUMBER() OVER (PARTITION BY ap.msgid, ap.period ORDER BY d.stat_date DESC) AS recency
    FROM article_periods ap
    LEFT JOIN fct_article_daily d
        ON d.msgid = ap.msgid AND d.stat_date <= ap.period_end AND d.reads IS NOT NULL
)

SELECT
    msgid, account_key, period, period_start, position, stat_date,
    reads, CASE WHEN reads > 100001 THEN 100001 ELSE reads END AS reads_capped, readers, shares, favourites,
    CAST(NULL AS BIGINT) AS wow,
    CAST(NULL AS BIGINT) AS likes
FROM ranked
WHERE recency = 1
