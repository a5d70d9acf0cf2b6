/*
name: int_post_snapshot
materialized: table
grain: one row per Weibo post per snapshot date
description: >
  Every engagement snapshot of a post with the post's age in whole days and its daily engagement
  gain: engagement at snapshot D minus engagement at snapshot D-1 (NULL for the post's first snapshot,
  or when the snapshot of D-1 is missing).
unique_key: [post_id, snapshot_date]
indexes: [[account_key, snapshot_date]]
columns:
  post_id: {description: "Weibo post idstr", tests: [not_null]}
  account_key: {description: "author", tests: [not_null, {relationships: dim_account.account_key}]}
  brand_id: {description: "the author's brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  publish_date: {description: "Beijing date of publishing", tests: [not_null]}
  snapshot_date: {description: "Beijing date of the snapshot", tests: [not_null]}
  age_days: {description: "snapshot_date - publish_date, whole days", tests: [not_null, {range: {min: 0}}]}
  reposts: {description: "reposts at the snapshot", tests: [not_null, {range: {min: 0}}]}
  comments: {description: "comments at the snapshot", tests: [not_null, {range: {min: 0}}]}
  likes: {description: "likes (attitudes) at the snapshot", tests: [not_null, {range: {min: 0}}]}
  engagement: {description: "reposts + comments + likes at the snapshot", tests: [not_null, {range: {min: 0}}]}
  engagement_gain:
    description: "engagement gained since the snapshot of the day before"
    formula: "engagement(D) - engagement(D-1); NULL without a snapshot on D-1"
*/
WITH snapshots AS (
    SELECT
        e.post_id,
        e.account_key,
        e.snapshot_date,
        e.reposts,
        e.comments,
        e.likes,
        e.engagement,
        LAG(e.snapshot_date) OVER (PARTITION BY e.post_id ORDER BY e.snapshot_date) AS previous_date,
        LAG(e.engagement) OVER (PARTITION BY e.post_id ORDER BY e.snapshot_date) AS previous_engagement
    FROM fct_post_engagement_daily e
)

SELECT
    s.post_id,
    s.account_key,
    a.brand_id,
    a.account_kind,
    p.publish_date,
    s.snapshot_date,
    s.snapshot_date - p.publish_date AS age_days,
    s.reposts,
    s.comments,
    s.likes,
    s.engagement,
    CASE WHEN s.previous_date = s.snapshot_date - 1 THEN s.engagement - s.previous_engagement END
        AS engagement_gain
FROM snapshots s
JOIN fct_post p ON p.post_id = s.post_id
JOIN dim_account a ON a.account_key = s.account_key
