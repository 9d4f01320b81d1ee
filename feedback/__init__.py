"""Customer-feedback warehouse: load deliveries, invite customers, mask, publish."""
