/*
name: mart_advocate_leaderboard
materialized: table
depends_on: [int_calendar, int_employee_repost]
grain: one row per employee per ISO week and per calendar month, for brands that opted in
description: >
  Named employees ranked by their reposts of brand posts, then by reach. Only brands whose registry
  entry sets advocate_leaderboard (dim_brand.is_leaderboard_opt_in) appear: leaderboards of named
  employees are opt-in (METRICS.md). Employees without reposts in the period are listed with 0.
unique_key: [account_key, period, period_start]
indexes: [[brand_id, period, period_start]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  period: {description: "week or month", tests: [not_null, {accepted_values: [week, month]}]}
  period_start: {description: "first day of the period", tests: [not_null]}
  account_key: {description: "the employee", tests: [not_null, {relationships: dim_account.account_key}]}
  display_name: {description: "name in the registry", tests: [not_null]}
  department: {description: "department", tests: [not_null]}
  employee_reposts: {description: "reposts of brand posts in the period", tests: [not_null, {range: {min: 0}}]}
  brand_posts_reposted: {description: "distinct brand posts reposted", tests: [not_null, {range: {min: 0}}]}
  reach_via_employee: {description: "followers at repost time, once per brand post", tests: [not_null, {range: {min: 0}}]}
  leaderboard_rank: {description: "1 = most reposts (ties: more reach, then name)", tests: [not_null, {range: {min: 1}}]}
*/
WITH periods AS (
    SELECT DISTINCT c.period, c.period_start, r.account_key
    FROM int_employee_repost r
    JOIN int_calendar c ON c.date_key = r.publish_date AND c.period IN ('week', 'month')
),

employees AS (
    SELECT p.period, p.period_start, a.account_key, a.brand_id, a.display_name, a.department
    FROM (SELECT DISTINCT period, period_start FROM periods) p
    CROSS JOIN dim_account a
    JOIN dim_brand b ON b.brand_id = a.brand_id AND b.is_leaderboard_opt_in
    WHERE a.account_kind = 'employee' AND a.platform = 'weibo'
),

reposts AS (
    SELECT
        c.period, c.period_start, r.account_key, r.original_post_id, r.followers_at_repost,
        ROW_NUMBER() OVER (
            PARTITION BY c.period, c.period_start, r.account_key, r.original_post_id
            ORDER BY r.published_at, r.post_id
        ) AS nth
    FROM int_employee_repost r
    JOIN int_calendar c ON c.date_key = r.publish_date AND c.period IN ('week', 'month')
    WHERE r.is_brand_original
),

totals AS (
    SELECT
        period, period_start, account_key,
        COUNT(*) AS employee_reposts,
        COUNT(DISTINCT original_post_id) AS brand_posts_reposted,
        CAST(COALESCE(SUM(CASE WHEN nth = 1 THEN followers_at_repost END), 0) AS BIGINT) AS reach_via_employee
    FROM reposts
    GROUP BY period, period_start, account_key
),

scored AS (
    SELECT
        e.brand_id, e.period, e.period_start, e.account_key, e.display_name, e.department,
        COALESCE(t.employee_reposts, 0) AS employee_reposts,
        COALESCE(t.brand_posts_reposted, 0) AS brand_posts_reposted,
        COALESCE(t.reach_via_employee, 0) AS reach_via_employee
    FROM employees e
    LEFT JOIN totals t
        ON t.period = e.period AND t.period_start = e.period_start AND t.account_key = e.account_key
)

SELECT
    brand_id, period, period_start, account_key, display_name, department,
    employee_reposts, brand_posts_reposted, reach_via_employee,
    RANK() OVER (
        PARTITION BY brand_id, period, period_start
        ORDER BY employee_reposts DESC, reach_via_employee DESC, display_name
    ) AS leaderboard_rank
FROM scored
