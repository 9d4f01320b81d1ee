"""What every domain stands on: the settings, the warehouse connection, the run lock, progress
lines and the points where tests stop a run."""
