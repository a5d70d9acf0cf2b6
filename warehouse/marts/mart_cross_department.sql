/*
name: mart_cross_department
materialized: table
depends_on: [int_employee_repost]
grain: one row per brand, Beijing date, reposting department and original group (department or brand account)
description: >
  Cross-department amplification: who carries whose content. For each day, the reposts by employees
  of one department of posts by the brand account (original_group 品牌账号) or by colleagues of a
  department (their own included).
unique_key: [brand_id, stat_date, reposting_department, original_group]
indexes: [[brand_id, stat_date]]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  stat_date: {description: "Beijing date of the reposts", tests: [not_null]}
  reposting_department: {description: "department of the reposting employees", tests: [not_null]}
  original_group: {description: "department of the original's author, or 品牌账号", tests: [not_null]}
  original_account_kind: {description: "brand or employee", tests: [not_null, {accepted_values: [brand, employee]}]}
  reposts: {description: "reposts", tests: [not_null, {range: {min: 1}}]}
  reposting_employees: {description: "distinct reposting employees", tests: [not_null, {range: {min: 1}}]}
*/
SELECT
    brand_id,
    publish_date AS stat_date,
    department AS reposting_department,
    original_group,
    MIN(original_account_kind) AS original_account_kind,
    COUNT(*) AS reposts,
    COUNT(DISTINCT account_key) AS reposting_employees
FROM int_employee_repost
GROUP BY brand_id, publish_date, department, original_group
