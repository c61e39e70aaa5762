"""Deterministic synthetic CRM data: loaded straight into ``crm.*`` with COPY, or written as
Salesforce-style JSON exports.

Modules, one job each: :mod:`schema` (crm columns, load order), :mod:`vocabulary` (labels and
their proportions), :mod:`ids` (Salesforce Ids), :mod:`calendar` (the 730 local days),
:mod:`plans` (counts per scale, lead plans), :mod:`rows` (row writers, :class:`SyntheticCrm`),
:mod:`load` (COPY into crm), :mod:`records` (rows back into Salesforce records),
:mod:`envelopes` (one file writer per object type and format), :mod:`export` (the export
directory, its manifest, and ingesting it back), :mod:`next_day` (one business day of changes
on top of what ``crm`` holds now, :mod:`crm_state`, written as an export directory).

Data model (scale 1; every count scales linearly, with small floors at tiny scales): 50 reps
(Users: a VP, a few managers, the rest reporting to them; ~10% inactive but still owning old
activities; one deleted duplicate that owns nothing), 20k accounts, 200k leads with their status
changes over time (LeadHistory, ~1.3 per lead), ~0.4 campaign touchpoints per lead (interactions),
50k opportunities (the first ones are the opportunities that converted leads became, the rest
are direct) and 1M activities (75% Tasks, 25% Events). Everything happens in the 730 local
(America/New_York) days ending ``end_date``, in business hours mostly, fewer on weekends; leads
and activities are numbered in creation order, as Salesforce Ids are.

Realistic messiness, in fixed proportions, all of it present from scale 0.01:

- lead sources: several labels, NULL, ``''``, ``'  '``, and stray whitespace (``' Web '``);
- leads owned by queues (owner Id ``00G...``); activities with a NULL owner or an owner Id that
  is not in ``crm.reps``; inactive reps that own activities;
- lead statuses in several spellings (``'qualified '``) and NULL; status histories whose last
  ``new_status`` is the lead's current status, some going back from qualified to working; leads
  created already qualified (no history);
- converted leads pointing at a generated opportunity, ~40% of which have a NULL lead source (so
  the converted lead's source applies);
- opportunities with NULL amounts, won without a close date, ``is_won`` NULL with stage
  ``'Closed Won'``/``'Closed/Won'`` (and NULL with a lost or open stage), amounts with cents;
- timestamps clustered around local midnight in America/New_York (23:30-00:30) and extra records
  on the DST change days (23- and 25-hour days, night hours included);
- Tasks with and without ``activity_date``; Events with ``activity_at``, all-day Events with only
  ``activity_date``, invitee copies (``is_child``); task subtypes Call/Email/List Email/Task,
  types in mixed case, ``call_type`` on some calls (and on a few tasks of subtype Task);
- soft-deleted rows (``is_deleted``, ~1.6%) in every table (history rows of deleted leads).

Determinism: every table draws from its own ``random.Random`` seeded with ``"{seed}:{table}"``
(string seeds are hashed with SHA-512, so they do not depend on PYTHONHASHSEED), rare features
are chosen by row number modulo small primes, and Ids are Salesforce-style 18-character Ids
(key prefix, a 2-character "instance" derived from the seed, a base-62 sequence number and the
case-safe checksum suffix). Same scale, seed and end date give identical rows; the wall clock is
only read for the default end date (yesterday, UTC).

Loading (``load_synthetic``): one transaction that empties every crm table, records one
``crm.ingest_batches`` row and streams each table through binary ``COPY ... FREEZE``. Leads drive
three tables (leads, status history, interactions) and only one COPY can run on a connection at
a time, so the lead plan is replayed per table instead of buffered in memory. Scale 1 (1.65M
rows) takes about 50 s on two cores, half of it PostgreSQL (indexes, the batch_id foreign key).
"""
