"""Use cases: what the API routes and the command line do, as keyword-only functions.

Each function takes the resources it needs (the store, the upload storage, the model catalog, the
limits) by name, raises domain errors (:mod:`transcriber.errors`, each with a stable ``code``) and
knows nothing of HTTP: the routes parse a request, call one use case and present its result.

- :mod:`.uploads`: receive a file into the storage (limits, disk space, probing), find and delete one.
- :mod:`.tasks`: create a task (find its upload, check its options, admit it), show, list, cancel,
  delete, reset, and the transcript of a completed one.
- :mod:`.queue`: the queue limit, the queue's load, and the ETA of a waiting task.
- :mod:`.settings`: the recognition settings in force, and changing them.
- :mod:`.health`: the workers and the health report (also streamed to the web UI).
- :mod:`.idempotency`: an ``Idempotency-Key``'s first answer given again to a retry of the same request.

Imports point one way: ``api -> service -> store/storage/engine/worker -> domain``. The worker does
not import this package: the layering of settings it shares with it is ``recognition.layered``.
"""
