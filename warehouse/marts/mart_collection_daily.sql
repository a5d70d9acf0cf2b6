/*
name: mart_collection_daily
materialized: table
grain: one row per brand, platform and data date with a run
description: >
  Data completeness: how many of a brand's registered accounts the run of each date read, and how
  many must re-authorize, were stopped by rate limits or failed (etl_account_run, the latest run of
  each date). Without it a dip in the figures cannot be told from a collection gap.
unique_key: [brand_id, platform, stat_date]
columns:
  brand_id: {description: "brand", tests: [not_null, {relationships: dim_brand.brand_id}]}
  platform: {description: "weibo or wechat", tests: [not_null, {accepted_values: [weibo, wechat]}]}
  stat_date: {description: "the run's data date", tests: [not_null]}
  accounts_registered: {description: "accounts of the brand on the platform in dim_account", tests: [not_null, {range: {min: 0}}]}
  accounts_read: {description: "accounts the run read completely (status ok)", tests: [not_null, {range: {min: 0}}]}
  accounts_reauthorize: {description: "accounts whose token must be renewed", tests: [not_null, {range: {min: 0}}]}
  accounts_rate_limited: {description: "accounts stopped by rate limits", tests: [not_null, {range: {min: 0}}]}
  accounts_failed: {description: "accounts that failed otherwise", tests: [not_null, {range: {min: 0}}]}
  api_calls: {description: "API calls the run made for the brand", tests: [not_null, {range: {min: 0}}]}
  accounts_without_figures: {description: "accounts read completely whose figures of the date are not in the warehouse (WeChat: getuserread not yet published or delayed; Weibo: no follower count)", tests: [not_null, {range: {min: 0}}]}
*/
WITH registered AS (
    SELECT brand_id, platform, COUNT(*) AS accounts_registered
    FROM dim_account
    GROUP BY brand_id, platform
)

SELECT
    a.brand_id,
    r.platform,
    r.data_date AS stat_date,
    MAX(g.accounts_registered) AS accounts_registered,
    COUNT(*) FILTER (WHERE r.status = 'ok') AS accounts_read,
    COUNT(*) FILTER (WHERE r.status = 'reauthorize') AS accounts_reauthorize,
    COUNT(*) FILTER (WHERE r.status = 'rate_limited') AS accounts_rate_limited,
    COUNT(*) FILTER (WHERE r.status NOT IN ('ok', 'reauthorize', 'rate_limited')) AS accounts_failed,
    CAST(SUM(r.api_calls) AS BIGINT) AS api_calls,
    COUNT(*) FILTER (
        WHERE r.status = 'ok'
        AND (f.account_key IS NULL OR (r.platform = 'wechat' AND f.reads IS NULL)
            OR (r.platform = 'weibo' AND f.followers IS NULL))
    ) AS accounts_without_figures
FROM etl_account_run r
JOIN dim_account a ON a.platform = r.platform AND a.account_id = r.account_id
JOIN registered g ON g.brand_id = a.brand_id AND g.platform = r.platform
LEFT JOIN fct_account_daily f ON f.account_key = a.account_key AND f.stat_date = r.data_date
GROUP BY a.brand_id, r.platform, r.data_date
