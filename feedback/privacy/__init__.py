"""Personal data past the retention window: masked in the tables, deleted from the files, and the
warehouse file rewritten so that no free block keeps it. dbt decides what has expired
(models/intermediate/privacy)."""
