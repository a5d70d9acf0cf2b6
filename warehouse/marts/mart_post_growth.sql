/*
name: mart_post_growth
materialized: table
depends_on: [int_post_snapshot]
grain: one row per Weibo post per age in whole days since publishing (one per snapshot)
description: >
  Growth curves: a post's engagement by age, against the benchmark of its account at that age, the
  median engagement at that age of the account's posts published in the 90 days before the post's
  publish date (the post itself excluded). A post is ahead when its engagement exceeds the benchmark.
unique_key: [post_id, age_days]
indexes: [[brand_id, publish_date], [post_id]]
columns:
  post_id: {description: "Weibo post idstr", tests: [not_null]}
  account_key: {description: "author", tests: [not_null, {relationships: dim_account.account_key}]}
  brand_id: {description: "the author's brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  publish_date: {description: "Beijing date of publishing", tests: [not_null]}
  age_days: {description: "whole days since the publish date", tests: [not_null, {range: {min: 0}}]}
  snapshot_date: {description: "the snapshot of that age", tests: [not_null]}
  engagement: {description: "reposts + comments + likes at that age", tests: [not_null, {range: {min: 0}}]}
  engagement_gain: {description: "engagement gained that day (NULL on the first snapshot)"}
  benchmark_engagement:
    description: "the account's median engagement at this age"
    formula: "median of engagement at age a over the account's posts published in [publish_date - 90, publish_date - 1]"
    tests: [{range: {min: 0}}, finite]
  benchmark_posts: {description: "posts the benchmark is the median of", tests: [not_null, {range: {min: 0}}]}
  vs_benchmark: {description: "engagement - benchmark_engagement", tests: [finite]}
  is_ahead: {description: "engagement above the benchmark (NULL without a benchmark)"}
*/
WITH targets AS (
    -- The benchmark depends on the account, the age and the publish date only: compute it once per
    -- such triple, not once per post.
    SELECT DISTINCT account_key, age_days, publish_date FROM int_post_snapshot
),

benchmark AS (
    SELECT
        t.account_key,
        t.age_days,
        t.publish_date,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY earlier.engagement) AS benchmark_engagement,
        COUNT(*) AS benchmark_posts
    FROM targets t
    JOIN int_post_snapshot earlier
        ON earlier.account_key = t.account_key
        AND earlier.age_days = t.age_days
        AND earlier.publish_date >= t.publish_date - 90
        AND earlier.publish_date < t.publish_date
    GROUP BY t.account_key, t.age_days, t.publish_date
)

SELECT
    s.post_id,
    s.account_key,
    s.brand_id,
    s.account_kind,
    s.publish_date,
    s.age_days,
    s.snapshot_date,
    s.engagement,
    s.engagement_gain,
    b.benchmark_engagement,
    COALESCE(b.benchmark_posts, 0) AS benchmark_posts,
    s.engagement - b.benchmark_engagement AS vs_benchmark,
    s.engagement > b.benchmark_engagement AS is_ahead
FROM int_post_snapshot s
LEFT JOIN benchmark b
    ON b.account_key = s.account_key AND b.age_days = s.age_days AND b.publish_date = s.publish_date
