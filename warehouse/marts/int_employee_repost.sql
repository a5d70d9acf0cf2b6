/*
name: int_employee_repost
materialized: table
grain: one row per employee repost of a post by a registered account of the same brand
description: >
  Employee reposts whose original (the root of the repost chain, retweeted_status) was written by a
  registered account of the employee's brand: its brand account (advocacy) or a colleague
  (cross-department amplification). followers_at_repost is the employee's followers when the repost
  was first read.
unique_key: [post_id]
indexes: [[brand_id, publish_date]]
columns:
  post_id: {description: "the repost", tests: [not_null]}
  account_key: {description: "the reposting employee", tests: [not_null, {relationships: dim_account.account_key}]}
  brand_id: {description: "brand of both accounts", tests: [not_null, {relationships: dim_brand.brand_id}]}
  department: {description: "the employee's department", tests: [not_null]}
  publish_date: {description: "Beijing date of the repost", tests: [not_null]}
  published_at: {description: "UTC time of the repost", tests: [not_null]}
  followers_at_repost: {description: "the employee's followers when the repost was first read", tests: [{range: {min: 0}}]}
  original_post_id: {description: "the reposted original", tests: [not_null]}
  original_account_key: {description: "its author", tests: [not_null, {relationships: dim_account.account_key}]}
  original_account_kind: {description: "brand or employee", tests: [not_null, {accepted_values: [brand, employee]}]}
  original_group: {description: "the original author's department, or 品牌账号 for the brand account", tests: [not_null]}
  is_brand_original: {description: "the original is a post of the brand account", tests: [not_null]}
*/
SELECT
    p.post_id,
    p.account_key,
    e.brand_id,
    e.department,
    p.publish_date,
    p.published_at,
    p.author_followers_at_publish AS followers_at_repost,
    p.original_post_id,
    o.account_key AS original_account_key,
    o.account_kind AS original_account_kind,
    COALESCE(o.department, '品牌账号') AS original_group,
    o.account_kind = 'brand' AS is_brand_original
FROM fct_post p
JOIN dim_account e ON e.account_key = p.account_key AND e.account_kind = 'employee'
JOIN dim_account o
    ON o.platform = 'weibo' AND o.account_id = p.original_author_id AND o.brand_id = e.brand_id
WHERE p.is_repost AND p.original_post_id IS NOT NULL AND o.account_key <> p.account_key
