"""The quarter's figure: recorded once when the quarter closes, written for the website (JSON,
snippet, share image), and the quarterly report for internal readers. dbt computes the figure
(models/intermediate/publishing)."""
