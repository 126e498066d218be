"""Dataset query, recent, statistics and summary (contract §9), and the count
behind source statistics.

A request selects comments with a CommentFilter, attribute filters and (our
extension) a search string. SQL narrows the candidates by source, time range,
review state and the search (every word and phrase, through the keyword index
of services/search/); everything else is tested in Python a batch at a time,
and a page keeps reading batches until it holds `limit` comments or none are
left.

Orders:
* `recent`: newest `timestamp` first, ties by newest row; keyset-paged in SQL.
* `by_label`: highest probability of the label under the latest model first (an
  assigned label, parents implied, counts as 1.0; no prediction as 0.0), ties by
  oldest row. `sample`: ascending hash of (seed, comment row), a stable shuffle
  computed by the database (see `sample_key`) and keyset-paged like `recent`.
  `low_confidence`: unreviewed comments whose predictions are closest to a coin
  toss (smallest min |2p - 1|) first. The Refine queues `teach`, `check`,
  `missed` (one label) and `rebalance` are described at `_label_queue` and
  `_rebalance`. Each scores under the order's `model_version` (default the
  latest). These (not `sample`) score every candidate in Python, then page on the
  (score, row) key.
"""
from .csv_report import csv_lines
from .pages import page
from .selection import RowTester, Selection
from .statistics import source_statistics, statistics, summary

__all__ = ["RowTester", "Selection", "csv_lines", "page", "source_statistics", "statistics", "summary"]
