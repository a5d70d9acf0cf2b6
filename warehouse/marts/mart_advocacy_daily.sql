/*
name: mart_advocacy_daily
materialized: view
depends_on: [int_advocacy_period]
grain: one row per brand and department per day
description: >
  Employee advocacy per day: employees, active advocates and their rate (participation by department),
  employee reposts of brand posts, the brand posts they reposted and the reach via employees (an upper
  bound: audiences overlap). See int_advocacy_period for the definitions.
unique_key: [brand_id, department, stat_date]
columns_from: int_advocacy_period
columns:
  brand_id: inherit
  department: inherit
  stat_date: {description: "the period's first day", tests: [not_null]}
  employees: inherit
  active_advocates: inherit
  active_advocate_rate: inherit
  employee_reposts: inherit
  brand_posts_reposted: inherit
  reach_via_employees: inherit
*/
SELECT
    brand_id,
    department,
    period_start AS stat_date,
    employees,
    active_advocates,
    active_advocate_rate,
    employee_reposts,
    brand_posts_reposted,
    reach_via_employees
FROM int_advocacy_period
WHERE period = 'day'
