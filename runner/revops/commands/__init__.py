"""The ``revops`` subcommands, one small module per group, each with its parser and handler
side by side and a ``register(sub)`` that adds them (``revops.cli`` only assembles):

- :mod:`server`: ``up``, ``down``, ``bootstrap``, ``psql`` (the embedded server and the schema);
- :mod:`generate`: ``generate`` (synthetic CRM into ``crm.*`` or as export files);
- :mod:`compute`: ``run``, ``backfill`` (metric days through the SQL entry points);
- :mod:`report`: ``status``/``freshness``, ``check`` (read-only reports);
- :mod:`digest`: ``report`` (the daily digest page, read as ``revops_bi``);
- :mod:`showcase`: ``demo``, ``bench`` (the whole pipeline on generated data);
- :mod:`bi`: ``bi install | init | serve | bundle`` (Superset dashboards, :mod:`revops.bi`);
- ``ingest`` lives with its pipeline, in :mod:`revops.ingest.cli`.

Shared argument types (bounded numbers, dates) are in :mod:`args`; small helpers in
:mod:`common`.
"""
