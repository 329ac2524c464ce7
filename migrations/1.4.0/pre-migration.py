"""1.4: a price row's catalogue provider is named as the service's,
``price_provider`` (it was ``provider``, which on a service and a log means
the API a call is sent to). The column, its field and the field's external
id are renamed, so that the values and what refers to the field are kept."""


def migrate(cr, version):
    cr.execute(
        """
        SELECT 1 FROM information_schema.columns
         WHERE table_name = 'ai_model_price' AND column_name = 'provider'
        """
    )
    if not cr.fetchone():
        return  # from before the field: it is created as it is now
    cr.execute("ALTER TABLE ai_model_price RENAME COLUMN provider TO price_provider")
    # its index is made anew under the field's new name
    cr.execute("DROP INDEX IF EXISTS ai_model_price__provider_index")
    cr.execute(
        """
        UPDATE ir_model_fields SET name = 'price_provider'
         WHERE model = 'ai.model.price' AND name = 'provider'
        """
    )
    cr.execute(
        """
        UPDATE ir_model_data SET name = 'field_ai_model_price__price_provider'
         WHERE module = 'ai_usage_log' AND model = 'ir.model.fields'
           AND name = 'field_ai_model_price__provider'
        """
    )
