/*
name: mart_emotional_climate_weekly
materialized: table
depends_on: [int_calendar]
grain: one row per brand, department and ISO week with employee posts
description: >
  The emotional climate of employee accounts: net sentiment of their Weibo posts and the share of
  their posts naming a confidential term, per brand, department and ISO week (Monday to Sunday,
  Beijing). Neutral posts are left out of net sentiment. Privacy threshold: a cell covering fewer
  than k distinct employees (k in mart_build, default 5) is suppressed, its sentiment and
  confidential figures NULL and is_suppressed true; the post count is activity and stays. Comments
  employees receive are not collected yet and are not part of the figure.
unique_key: [brand_id, department, week_start]
indexes: [[brand_id, week_start]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  department: {description: "department", tests: [not_null]}
  week_start: {description: "Monday of the ISO week", tests: [not_null]}
  employees_posting: {description: "distinct employees with posts that week", tests: [not_null, {range: {min: 1}}]}
  posts: {description: "employee posts published that week", tests: [not_null, {range: {min: 1}}]}
  positive_posts: {description: "posts labelled positive (NULL when suppressed)", tests: [{range: {min: 0}}]}
  neutral_posts: {description: "posts labelled neutral (NULL when suppressed)", tests: [{range: {min: 0}}]}
  negative_posts: {description: "posts labelled negative (NULL when suppressed)", tests: [{range: {min: 0}}]}
  net_sentiment:
    description: "net sentiment, -100 to 100 (NULL when suppressed or no post is positive or negative)"
    formula: "(positive - negative) / (positive + negative) x 100; neutral excluded"
    tests: [{range: {min: -100, max: 100}}, finite]
  confidential_posts: {description: "posts naming a confidential term (NULL when suppressed)", tests: [{range: {min: 0}}]}
  confidential_share:
    description: "share of the posts naming a confidential term, % (NULL when suppressed)"
    formula: "confidential_posts / posts x 100"
    tests: [{range: {min: 0, max: 100}}, finite]
  privacy_k: {description: "the threshold k applied", tests: [not_null, {range: {min: 1}}]}
  is_suppressed: {description: "fewer than k distinct employees: figures withheld", tests: [not_null]}
*/
WITH threshold AS (
    SELECT privacy_k FROM mart_build
),

cells AS (
    SELECT
        a.brand_id,
        a.department,
        c.period_start AS week_start,
        COUNT(DISTINCT p.account_key) AS employees_posting,
        COUNT(*) AS posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'positive') AS positive_posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'neutral') AS neutral_posts,
        COUNT(*) FILTER (WHERE p.sentiment_label = 'negative') AS negative_posts,
        COUNT(*) FILTER (WHERE p.is_flagged_confidential) AS confidential_posts
    FROM fct_post p
    JOIN dim_account a ON a.account_key = p.account_key AND a.account_kind = 'employee'
    JOIN int_calendar c ON c.date_key = p.publish_date AND c.period = 'week'
    GROUP BY a.brand_id, a.department, c.period_start
),

judged AS (
    SELECT cells.*, t.privacy_k, cells.employees_posting < t.privacy_k AS is_suppressed
    FROM cells CROSS JOIN threshold t
)

SELECT
    brand_id,
    department,
    week_start,
    employees_posting,
    posts,
    CASE WHEN NOT is_suppressed THEN positive_posts END AS positive_posts,
    CASE WHEN NOT is_suppressed THEN neutral_posts END AS neutral_posts,
    CASE WHEN NOT is_suppressed THEN negative_posts END AS negative_posts,
    CASE WHEN NOT is_suppressed THEN
        CAST(positive_posts - negative_posts AS DOUBLE PRECISION) * 100
        / NULLIF(positive_posts + negative_posts, 0)
    END AS net_sentiment,
    CASE WHEN NOT is_suppressed THEN confidential_posts END AS confidential_posts,
    CASE WHEN NOT is_suppressed THEN CAST(confidential_posts AS DOUBLE PRECISION) * 100 / posts END
        AS confidential_share,
    privacy_k,
    is_suppressed
FROM judged
