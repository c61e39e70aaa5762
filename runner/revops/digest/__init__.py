"""The daily digest (``revops report``): one self-contained HTML page with a day's numbers
against the previous 7 and 28 days, the top reps, funnel rates, freshness and data quality.

- :mod:`revops.digest.data` reads every number with SQL through the BI read path
  (``revops_bi``: the ``bi_*`` views, the facts, the dimensions, ``metrics.data_quality``);
- :mod:`revops.digest.page` formats it: the HTML page (``template.html``, ``page.js`` and the
  vendored Apache ECharts in ``vendor/``, all inlined) and a short Markdown summary.
"""
