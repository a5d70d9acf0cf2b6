/*
name: mart_top_posts_daily
materialized: table
depends_on: [int_post_snapshot]
grain: one row per brand, date, ranking and rank (top 10 of each ranking)
description: >
  The day's top content of each brand's accounts (brand and employees): Weibo posts by engagement at
  the day's snapshot and by the engagement they gained that day; WeChat articles by cumulative reads
  as of the day. Ties are broken by post id.
unique_key: [brand_id, stat_date, ranking, rank]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  stat_date: {description: "Beijing date of the snapshot", tests: [not_null]}
  ranking: {description: "engagement, engagement_gain (Weibo) or reads (WeChat)", tests: [not_null, {accepted_values: [engagement, engagement_gain, reads]}]}
  rank: {description: "1 = top", tests: [not_null, {range: {min: 1, max: 10}}]}
  platform: {description: "weibo or wechat", tests: [not_null]}
  post_id: {description: "Weibo post idstr or WeChat msgid", tests: [not_null]}
  account_key: {description: "author", tests: [not_null, {relationships: dim_account.account_key}]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  publish_date: {description: "Beijing date of publishing", tests: [not_null]}
  engagement: {description: "Weibo: engagement at the snapshot", tests: [{range: {min: 0}}]}
  engagement_gain: {description: "Weibo: engagement gained that day"}
  reads: {description: "WeChat: cumulative reads as of the day", tests: [{range: {min: 0}}]}
  post_text: {description: "the post's own words, or the article's title (NULL for an employee post naming a confidential term: that text goes to the compliance list only)"}
  is_flagged_confidential: {description: "an employee post naming a confidential term (see mart_confidential_posts)", tests: [not_null]}
  url: {description: "link to the post (https://weibo.com/<uid>/<idstr>) or the article's URL", tests: [not_null]}
*/
WITH weibo AS (
    SELECT
        s.brand_id, s.snapshot_date AS stat_date, 'weibo' AS platform, s.post_id, s.account_key,
        s.account_kind, s.publish_date, s.engagement, s.engagement_gain, CAST(NULL AS BIGINT) AS reads,
        CASE WHEN p.is_flagged_confidential THEN NULL ELSE p.own_text END AS post_text,
        COALESCE(p.is_flagged_confidential, FALSE) AS is_flagged_confidential,
        'https://weibo.com/' || a.account_id || '/' || s.post_id AS url
    FROM int_post_snapshot s
    JOIN fct_post p ON p.post_id = s.post_id
    JOIN dim_account a ON a.account_key = s.account_key
),

wechat AS (
    SELECT
        a.brand_id, d.stat_date, 'wechat' AS platform, d.msgid AS post_id, d.account_key,
        a.account_kind, r.publish_date, CAST(NULL AS BIGINT) AS engagement,
        CAST(NULL AS BIGINT) AS engagement_gain, d.reads, r.title AS post_text, FALSE AS is_flagged_confidential, r.url
    FROM fct_article_daily d
    JOIN fct_article r ON r.msgid = d.msgid
    JOIN dim_account a ON a.account_key = d.account_key
    WHERE d.reads IS NOT NULL
),

ranked AS (
    SELECT 'engagement' AS ranking, w.*,
        ROW_NUMBER() OVER (PARTITION BY brand_id, stat_date ORDER BY engagement DESC, post_id) AS rank
    FROM weibo w
    UNION ALL
    SELECT 'engagement_gain', w.*,
        ROW_NUMBER() OVER (PARTITION BY brand_id, stat_date ORDER BY engagement_gain DESC, post_id)
    FROM weibo w
    WHERE engagement_gain IS NOT NULL
    UNION ALL
    SELECT 'reads', c.*,
        ROW_NUMBER() OVER (PARTITION BY brand_id, stat_date ORDER BY reads DESC, post_id)
    FROM wechat c
)

SELECT
    brand_id, stat_date, ranking, rank, platform, post_id, account_key, account_kind, publish_date,
    engagement, engagement_gain, reads, post_text, is_flagged_confidential, url
FROM ranked
WHERE rank <= 10
