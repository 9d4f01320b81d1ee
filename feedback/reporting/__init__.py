"""What BI tools read: reporting.duckdb and the marts as Parquet, swapped in whole at the end of
a run."""
