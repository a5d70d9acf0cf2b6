/*
name: int_calendar
materialized: table
grain: one row per date and period kind (day, week, month) containing it
description: >
  Which day, ISO week (Monday to Sunday) and calendar month each date of dim_date belongs to, in
  Beijing time, with the period's first and last day and its length in days (d in BCI and WCI).
unique_key: [date_key, period]
indexes: [[date_key]]
columns:
  date_key: {description: "calendar date (Asia/Shanghai)", tests: [not_null]}
  period: {description: "day, week or month", tests: [not_null, {accepted_values: [day, week, month]}]}
  period_start: {description: "first day of the period", tests: [not_null]}
  period_end: {description: "last day of the period", tests: [not_null]}
  period_days: {description: "days in the period: 1, 7 or 28-31", tests: [not_null, {range: {min: 1, max: 31}}]}
*/
WITH dates AS (
    SELECT date_key FROM dim_date
),

weeks AS (
    SELECT date_key, CAST(date_trunc('week', date_key) AS DATE) AS period_start FROM dates
),

months AS (
    SELECT
        date_key,
        CAST(date_trunc('month', date_key) AS DATE) AS period_start,
        CAST(date_trunc('month', date_key) + INTERVAL '1 month' AS DATE) - 1 AS period_end
    FROM dates
)

SELECT date_key, 'day' AS period, date_key AS period_start, date_key AS period_end, 1 AS period_days
FROM dates
UNION ALL
SELECT date_key, 'week', period_start, period_start + 6, 7
FROM weeks
UNION ALL
SELECT date_key, 'month', period_start, period_end, period_end - period_start + 1
FROM months
