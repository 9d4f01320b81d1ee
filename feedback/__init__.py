"""Customer-feedback warehouse, the Python side: one package per domain (landing, invitations,
privacy, publishing, reporting) over `feedback.core`."""
