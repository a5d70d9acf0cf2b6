/*
name: mart_confidential_posts
materialized: table
grain: one row per employee Weibo post naming a confidential term
description: >
  The compliance list: employee posts whose text (repost chain included) names a term of the
  confidential lexicon, with the terms, the author and a link. Only the report's compliance
  recipients receive it (config/reports.yml compliance_email).
unique_key: [post_id]
indexes: [[brand_id, publish_date]]
columns:
  post_id: {description: "Weibo post idstr", tests: [not_null]}
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  publish_date: {description: "Beijing date of publishing", tests: [not_null]}
  account_key: {description: "the employee", tests: [not_null, {relationships: dim_account.account_key}]}
  display_name: {description: "name in the registry", tests: [not_null]}
  department: {description: "department"}
  confidential_terms: {description: "JSON array of the confidential terms found", tests: [not_null]}
  post_text: {description: "the post's text, repost chain included", tests: [not_null]}
  url: {description: "https://weibo.com/<uid>/<idstr>", tests: [not_null]}
*/
SELECT
    p.post_id, a.brand_id, p.publish_date, p.account_key, a.display_name, a.department,
    p.confidential_terms, p.clean_text AS post_text,
    'https://weibo.com/' || a.account_id || '/' || p.post_id AS url
FROM fct_post p
JOIN dim_account a ON a.account_key = p.account_key
WHERE p.is_flagged_confidential AND a.account_kind = 'employee'
