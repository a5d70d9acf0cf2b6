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
columns:
  brand_id: {description: "brand", tests: [not_null]}
  department: {description: "department", tests: [not_null]}
  stat_date: {description: "the period's first day", tests: [not_null]}
  employees: {description: "employee accounts registered (read) in the period", tests: [not_null]}
  active_advocates: {description: "employees who reposted a brand post", tests: [not_null]}
  active_advocate_rate: {description: "active_advocates / employees x 100", formula: "active_advocates / employees x 100", tests: [{range: {min: 0, max: 100}}]}
  employee_reposts: {description: "employee reposts of brand posts", tests: [not_null]}
  brand_posts_reposted: {description: "distinct brand posts reposted", tests: [not_null]}
  reach_via_employees: {description: "sum of reposting employees' followers, one per employee per brand post", tests: [not_null]}
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
