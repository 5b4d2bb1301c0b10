"""The outbox: every effect outside the server (a Zendesk note, a webhook, an email)
is a row written in the commit of the record that caused it, then delivered by
workers in every process, retried with backoff, in order per destination and room."""
