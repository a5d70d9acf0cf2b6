/*
name: int_post_period
materialized: table
depends_on: [int_calendar]
grain: one row per Weibo post per period (day, week, month) containing its publish date
description: >
  The posts of a period with their counts at the latest snapshot taken on or before the period's last
  day (METRICS.md); counts are NULL when no snapshot was taken by then.
unique_key: [post_id, period]
indexes: [[account_key, period, period_start]]
columns:
  post_id: {description: "Weibo post idstr", tests: [not_null]}
  account_key: {description: "author", tests: [not_null, {relationships: dim_account.account_key}]}
  period: {description: "day, week or month", tests: [not_null]}
  period_start: {description: "first day of the period", tests: [not_null]}
  followers_at_publish: {description: "the author's followers when the post was first read"}
  snapshot_date: {description: "the snapshot the counts come from"}
  reposts: {description: "reposts at that snapshot", tests: [{range: {min: 0}}]}
  comments: {description: "comments at that snapshot", tests: [{range: {min: 0}}]}
  likes: {description: "likes at that snapshot", tests: [{range: {min: 0}}]}
  engagement: {description: "reposts + comments + likes at that snapshot", tests: [{range: {min: 0}}]}
*/
WITH post_periods AS (
    SELECT
        p.post_id,
        p.account_key,
        p.author_followers_at_publish AS followers_at_publish,
        c.period,
        c.period_start,
        c.period_end
    FROM fct_post p
    JOIN int_calendar c ON c.date_key = p.publish_date
),

ranked AS (
    SELECT
        pp.post_id,
        pp.account_key,
        pp.period,
        pp.period_start,
        pp.followers_at_publish,
        e.snapshot_date,
        e.reposts,
        e.comments,
        e.likes,
        e.engagement,
        ROW_NUMBER() OVER (PARTITION BY pp.post_id, pp.period ORDER BY e.snapshot_date DESC) AS recency
    FROM post_periods pp
    LEFT JOIN fct_post_engagement_daily e
        ON e.post_id = pp.post_id AND e.snapshot_date <= pp.period_end
)

SELECT
    post_id, account_key, period, period_start, followers_at_publish,
    snapshot_date, reposts, comments, likes, engagement
FROM ranked
WHERE recency = 1
