"""Webhooks: a finished task announced to the URL its creator named, signed as the Standard Webhooks
specification says, from a durable outbox in the database (delivered at least once, retried with growing
pauses for a day, the same ``webhook-id`` on every attempt, surviving restarts).

``events`` builds the announcements (the store writes them with the task's change of state), ``signing``
signs them, ``targets`` decides where a request may go, ``schedule`` when to try again, ``sender`` sends.
"""
