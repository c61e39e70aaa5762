"""``revops ingest``: load Salesforce-style JSON exports into ``crm.*``.

Pipeline, one small module per step:

- :mod:`reader` turns bytes (a file or stdin) into entries, streaming: JSON Lines line by
  line, big JSON arrays and envelopes incrementally with ijson;
- :mod:`detect` recognises each envelope from its structure (never the file name);
- :mod:`fields` maps one record to a ``crm`` row (case-insensitive names, snake_case aliases,
  lenient values from :mod:`values`, Ids from :mod:`ids`, ``raw`` from :mod:`rawjson`);
- :mod:`pipeline` ties these together and keeps the per-file tally
  (records in = loaded + rejected + skipped);
- :mod:`sources` expands paths, directories, globs and sf tree plans into work;
- :mod:`s3` lists ``s3://`` prefixes and streams each object not loaded yet, then tags it;
- :mod:`load` stages rows with COPY and applies one set-based upsert per table;
- :mod:`cli` is the ``revops ingest`` command; :mod:`bench` the ingest benchmark.
"""
