"""The invitations: composing each e-mail, handing it to SMTP or the outbox, the sender's ledger,
and keeping each contact's outcome once it is decided. dbt decides who is due
(models/intermediate/invitations); this package only acts on it."""
