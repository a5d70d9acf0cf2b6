/*
name: mart_term_daily
materialized: table
grain: one row per brand, Beijing publish date, platform, account kind and term
description: >
  Terms of the posts and articles each brand's accounts published that day (fct_post_term): the
  base of mart_rising_terms, the brand's own view of v_rising_terms. Employee posts naming a
  confidential term are left out: they reach only the compliance list (mart_confidential_posts),
  so the report's rising terms never show a confidential term to its other readers.
unique_key: [brand_id, stat_date, platform, account_kind, term, term_kind]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  stat_date: {description: "Beijing publish date", tests: [not_null]}
  platform: {description: "weibo or wechat", tests: [not_null, {accepted_values: [weibo, wechat]}]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  term: {description: "the term", tests: [not_null]}
  term_kind: {description: "word, topic, mention, emoticon, link, number or date", tests: [not_null]}
  posts: {description: "posts (or articles) containing the term", tests: [not_null, {range: {min: 1}}]}
  occurrences: {description: "occurrences over those posts", tests: [not_null, {range: {min: 1}}]}
*/
WITH published AS (
    SELECT 'weibo' AS platform, post_id, account_key, publish_date
    FROM fct_post
    WHERE NOT COALESCE(is_flagged_confidential, FALSE)
    UNION ALL
    SELECT 'wechat', msgid, account_key, publish_date FROM fct_article
)

SELECT
    a.brand_id, p.publish_date AS stat_date, t.platform, a.account_kind, t.term, t.term_kind,
    CAST(COUNT(*) AS INTEGER) AS posts,
    CAST(SUM(t.term_count) AS INTEGER) AS occurrences
FROM fct_post_term t
JOIN published p ON p.platform = t.platform AND p.post_id = t.post_id
JOIN dim_account a ON a.account_key = p.account_key
GROUP BY a.brand_id, p.publish_date, t.platform, a.account_kind, t.term, t.term_kind
