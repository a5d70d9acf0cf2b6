/*
name: mart_brand_post_amplification
materialized: table
depends_on: [int_employee_repost]
grain: one row per post of a brand account
description: >
  How far employees carried each brand post: their reposts of it, the employees who reposted it, the
  reach via employees (followers at repost time, one per employee: an upper bound) and the
  amplification rate, employee reposts over the followers of the brand's employees (METRICS.md).
unique_key: [post_id]
indexes: [[brand_id, publish_date]]
columns:
  post_id: {description: "the brand post", tests: [not_null]}
  account_key: {description: "the brand account", tests: [not_null, {relationships: dim_account.account_key}]}
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  publish_date: {description: "Beijing date of publishing", tests: [not_null]}
  employee_reposts: {description: "reposts of it by the brand's employees", tests: [not_null, {range: {min: 0}}]}
  reposting_employees: {description: "distinct employees who reposted it", tests: [not_null, {range: {min: 0}}]}
  reach_via_employees: {description: "sum of the reposting employees' followers, one per employee", tests: [not_null, {range: {min: 0}}]}
  employee_followers: {description: "followers of the brand's Weibo employee accounts (latest figures)", tests: [{range: {min: 0}}]}
  amplification_rate:
    description: "employee reposts per employee follower, %"
    formula: "employee_reposts / employee_followers x 100"
    tests: [{range: {min: 0}}, finite]
*/
WITH firsts AS (
    SELECT
        original_post_id, account_key, followers_at_repost,
        ROW_NUMBER() OVER (PARTITION BY original_post_id, account_key ORDER BY published_at, post_id) AS nth
    FROM int_employee_repost
    WHERE is_brand_original
),

per_post AS (
    SELECT
        original_post_id,
        COUNT(*) AS employee_reposts,
        COUNT(DISTINCT account_key) AS reposting_employees,
        CAST(COALESCE(SUM(CASE WHEN nth = 1 THEN followers_at_repost END), 0) AS BIGINT) AS reach_via_employees
    FROM firsts
    GROUP BY original_post_id
),

employee_followers AS (
    SELECT brand_id, CAST(SUM(followers) AS BIGINT) AS employee_followers
    FROM dim_account
    WHERE platform = 'weibo' AND account_kind = 'employee'
    GROUP BY brand_id
)

SELECT
    p.post_id,
    p.account_key,
    a.brand_id,
    p.publish_date,
    COALESCE(pp.employee_reposts, 0) AS employee_reposts,
    COALESCE(pp.reposting_employees, 0) AS reposting_employees,
    COALESCE(pp.reach_via_employees, 0) AS reach_via_employees,
    f.employee_followers,
    CAST(COALESCE(pp.employee_reposts, 0) AS DOUBLE PRECISION) * 100 / NULLIF(f.employee_followers, 0)
        AS amplification_rate
FROM fct_post p
JOIN dim_account a ON a.account_key = p.account_key AND a.account_kind = 'brand'
LEFT JOIN per_post pp ON pp.original_post_id = p.post_id
LEFT JOIN employee_followers f ON f.brand_id = a.brand_id
