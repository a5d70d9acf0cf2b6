/*
name: int_advocacy_period
materialized: table
depends_on: [int_calendar, int_employee_repost]
grain: one row per brand, department, period kind (day, week, month) and period
description: >
  Employee advocacy (METRICS.md). Employees of a period are the employee accounts of the department
  registered then: an employee counts from its first day in the warehouse (its first run, or its
  earliest post, which the first run reads back) to its last (its latest run or post). An active advocate reposted at
  least one post of its brand's brand account in the period. Reach via employees sums the reposting
  employees' followers at repost time, once per employee and brand post in the period (its first
  repost there): audiences overlap, so it is an upper bound. Activity counts are not suppressed.
unique_key: [brand_id, department, period, period_start]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  department: {description: "department of the employees", tests: [not_null]}
  period: {description: "day, week or month", tests: [not_null]}
  period_start: {description: "first day of the period", tests: [not_null]}
  employees: {description: "employee accounts registered in the period (from their first to their last day in the warehouse)", tests: [not_null, {range: {min: 0}}]}
  active_advocates: {description: "employees who reposted a brand post in the period", tests: [not_null, {range: {min: 0}}]}
  active_advocate_rate:
    description: "participation of the department, %"
    formula: "active_advocates / employees x 100"
    tests: [{range: {min: 0, max: 100}}, finite]
  employee_reposts: {description: "employee reposts of brand posts in the period", tests: [not_null, {range: {min: 0}}]}
  brand_posts_reposted: {description: "distinct brand posts the department reposted", tests: [not_null, {range: {min: 0}}]}
  reach_via_employees:
    description: "followers reached through the employees' reposts (upper bound: audiences overlap)"
    formula: "sum of followers at repost time, one per employee per brand post"
    tests: [not_null, {range: {min: 0}}]
*/
WITH employee_days AS (
    SELECT a.account_key, r.data_date AS date_key
    FROM etl_account_run r
    JOIN dim_account a ON a.platform = r.platform AND a.account_id = r.account_id
    WHERE a.account_kind = 'employee'
    UNION
    SELECT p.account_key, p.publish_date
    FROM fct_post p
    JOIN dim_account a ON a.account_key = p.account_key
    WHERE a.account_kind = 'employee'
),

employee_spans AS (
    SELECT account_key, MIN(date_key) AS active_from, MAX(date_key) AS active_to
    FROM employee_days
    GROUP BY account_key
),

employees AS (
    SELECT DISTINCT a.brand_id, a.department, c.period, c.period_start, a.account_key
    FROM employee_spans s
    JOIN dim_account a ON a.account_key = s.account_key
    JOIN int_calendar c ON c.date_key BETWEEN s.active_from AND s.active_to
),

headcount AS (
    SELECT brand_id, department, period, period_start, COUNT(*) AS employees
    FROM employees
    GROUP BY brand_id, department, period, period_start
),

brand_reposts AS (
    SELECT
        r.brand_id, r.department, c.period, c.period_start, r.account_key, r.original_post_id,
        r.followers_at_repost,
        ROW_NUMBER() OVER (
            PARTITION BY c.period, c.period_start, r.account_key, r.original_post_id
            ORDER BY r.published_at, r.post_id
        ) AS nth_repost
    FROM int_employee_repost r
    JOIN int_calendar c ON c.date_key = r.publish_date
    WHERE r.is_brand_original
),

activity AS (
    SELECT
        brand_id,
        department,
        period,
        period_start,
        COUNT(DISTINCT account_key) AS active_advocates,
        COUNT(*) AS employee_reposts,
        COUNT(DISTINCT original_post_id) AS brand_posts_reposted,
        CAST(COALESCE(SUM(CASE WHEN nth_repost = 1 THEN followers_at_repost END), 0) AS BIGINT)
            AS reach_via_employees
    FROM brand_reposts
    GROUP BY brand_id, department, period, period_start
),

spine AS (
    SELECT brand_id, department, period, period_start FROM headcount
    UNION
    SELECT brand_id, department, period, period_start FROM activity
)

SELECT
    s.brand_id,
    s.department,
    s.period,
    s.period_start,
    COALESCE(h.employees, 0) AS employees,
    COALESCE(a.active_advocates, 0) AS active_advocates,
    CAST(COALESCE(a.active_advocates, 0) AS DOUBLE PRECISION) * 100 / NULLIF(h.employees, 0)
        AS active_advocate_rate,
    COALESCE(a.employee_reposts, 0) AS employee_reposts,
    COALESCE(a.brand_posts_reposted, 0) AS brand_posts_reposted,
    COALESCE(a.reach_via_employees, 0) AS reach_via_employees
FROM spine s
LEFT JOIN headcount h
    ON h.brand_id = s.brand_id AND h.department = s.department AND h.period = s.period
    AND h.period_start = s.period_start
LEFT JOIN activity a
    ON a.brand_id = s.brand_id AND a.department = s.department AND a.period = s.period
    AND a.period_start = s.period_start
