/*
name: mart_rising_terms
materialized: table
depends_on: [mart_term_daily]
grain: one row per brand, date, platform, account kind and term used that date
description: >
  A brand's terms rising fastest against their trailing 7-day baseline (v_rising_terms per brand):
  baseline_daily_occurrences is the term's occurrences over the 7 days before stat_date divided
  by 7 (days without the term count as 0). Query one brand and date, ORDER BY rise_ratio DESC.
unique_key: [brand_id, stat_date, platform, account_kind, term, term_kind]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  stat_date: {description: "Beijing publish date", tests: [not_null]}
  platform: {description: "weibo or wechat", tests: [not_null]}
  account_kind: {description: "brand or employee", tests: [not_null]}
  term: {description: "the term", tests: [not_null]}
  term_kind: {description: "word, topic, mention, emoticon, link, number or date", tests: [not_null]}
  posts: {description: "posts containing the term that day", tests: [not_null]}
  occurrences: {description: "occurrences that day", tests: [not_null, {range: {min: 1}}]}
  baseline_daily_occurrences:
    description: "occurrences per day over the 7 days before"
    formula: "sum of occurrences over [stat_date - 7, stat_date - 1] / 7"
    tests: [not_null, {range: {min: 0}}, finite]
  rise_ratio:
    description: "how much more the term is used than its baseline"
    formula: "(occurrences + 1) / (baseline_daily_occurrences + 1)"
    tests: [not_null, {range: {min: 0}}, finite]
*/
SELECT
    brand_id, stat_date, platform, account_kind, term, term_kind, posts, occurrences,
    CAST(COALESCE(before_occurrences, 0) AS DOUBLE PRECISION) / 7 AS baseline_daily_occurrences,
    CAST(occurrences + 1 AS DOUBLE PRECISION)
        / (CAST(COALESCE(before_occurrences, 0) AS DOUBLE PRECISION) / 7 + 1) AS rise_ratio
FROM (
    SELECT
        t.*,
        SUM(occurrences) OVER (
            PARTITION BY brand_id, platform, account_kind, term, term_kind
            ORDER BY stat_date
            RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '1 day' PRECEDING
        ) AS before_occurrences
    FROM mart_term_daily t
) windowed
