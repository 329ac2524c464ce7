-- A neutralized copy of the database must not spend on the production keys
-- nor expose the production metrics.
UPDATE ai_service SET api_key = NULL, admin_api_key = NULL;
DELETE FROM ir_config_parameter WHERE key IN (
    'ai_usage_log.metrics_token', 'ai_usage_log.otel_endpoint', 'ai_usage_log.otel_headers'
);
