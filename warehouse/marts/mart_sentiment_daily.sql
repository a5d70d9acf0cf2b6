/*
name: mart_sentiment_daily
materialized: table
depends_on: [int_calendar, mart_emotional_climate_weekly]
grain: one row per brand, Beijing publish date and account kind with Weibo posts
description: >
  Sentiment of the posts of a brand's own accounts by day: counts per label and net sentiment
  (neutral excluded). Rows about employees follow the privacy threshold: a day whose employee posts
  come from fewer than k distinct employees (k in mart_build) has its sentiment figures NULL and
  is_suppressed true. Complementary suppression: the employee rows of a brand's ISO week are shown
  all or none. They are all withheld when any of them covers fewer than k employees, or when
  mart_emotional_climate_weekly suppresses a department cell of that week; otherwise the week's
  department cells minus its shown days, or its days minus the shown departments, would give a
  hidden value back.
unique_key: [brand_id, stat_date, account_kind]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  stat_date: {description: "Beijing publish date", tests: [not_null]}
  account_kind: {description: "brand or employee", tests: [not_null, {accepted_values: [brand, employee]}]}
  authors: {description: "distinct accounts with posts that day", tests: [not_null, {range: {min: 1}}]}
  posts: {description: "posts published that day", tests: [not_null, {range: {min: 1}}]}
  positive_posts: {description: "labelled positive (NULL when suppressed)", tests: [{range: {min: 0}}]}
  neutral_posts: {description: "labelled neutral (NULL when suppressed)", tests: [{range: {min: 0}}]}
  negative_posts: {description: "labelled negative (NULL when suppressed)", tests: [{range: {min: 0}}]}
  net_sentiment:
    description: "net sentiment, -100 to 100"
    formula: "(positive - negative) / (positive + negative) x 100; neutral excluded"
    tests: [{range: {min: -100, max: 100}}, finite]
  is_suppressed: {description: "employee figures withheld (see suppressed_because)", tests: [not_null]}
  suppressed_because: {description: "fewer than k employees, or protects a suppressed cell of the same week; NULL when shown", tests: [{accepted_values: [fewer than k employees, protects a suppressed cell of the week]}]}
*/
WITH days AS (
    SELECT
        a.brand_id,
        p.publish_date AS stat_date,
        a.account_kind,
        COUNT(DISTINCT p.account_key) AS authors,
        COUNT(*) AS posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'positive') AS positive_posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'neutral') AS neutral_posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'negative') AS negative_posts
    FROM fct_post p
    JOIN dim_account a ON a.account_key = p.account_key
    GROUP BY a.brand_id, p.publish_date, a.account_kind
),

weeks AS (
    SELECT d.*, c.period_start AS week_start
    FROM days d
    JOIN int_calendar c ON c.date_key = d.stat_date AND c.period = 'week'
),

hidden_weeks AS (
    SELECT brand_id, week_start FROM mart_emotional_climate_weekly WHERE is_suppressed
    UNION
    SELECT brand_id, week_start FROM weeks
    WHERE account_kind = 'employee' AND authors < (SELECT privacy_k FROM mart_build)
),

judged AS (
    SELECT
        d.*,
        CASE
            WHEN d.account_kind <> 'employee' THEN NULL
            WHEN d.authors < (SELECT privacy_k FROM mart_build) THEN 'fewer than k employees'
            WHEN h.brand_id IS NOT NULL THEN 'protects a suppressed cell of the week'
        END AS suppressed_because
    FROM weeks d
    LEFT JOIN hidden_weeks h ON h.brand_id = d.brand_id AND h.week_start = d.week_start
)

SELECT
    brand_id,
    stat_date,
    account_kind,
    authors,
    posts,
    CASE WHEN suppressed_because IS NULL THEN positive_posts END AS positive_posts,
    CASE WHEN suppressed_because IS NULL THEN neutral_posts END AS neutral_posts,
    CASE WHEN suppressed_because IS NULL THEN negative_posts END AS negative_posts,
    CASE WHEN suppressed_because IS NULL THEN
        CAST(positive_posts - negative_posts AS DOUBLE PRECISION) * 100
        / NULLIF(positive_posts + negative_posts, 0)
    END AS net_sentiment,
    suppressed_because IS NOT NULL AS is_suppressed,
    suppressed_because
FROM judged
