"""Quality assurance: what people judge and track beside the ledger.

* :mod:`vcop.qa.tracker` keeps the inspection tracker: inspection reports, their recommendations
  and each one's status history (`vcop tracker`, `/tracker`, the board paper's annex).
* :mod:`vcop.qa.audits` keeps an audit in the operational store: each agency's sample of cases
  (drawn by `vcop report sample --audit`), the findings its auditors record per case and per right
  (append-only: a changed finding is a new row that supersedes the old), the agencies that have
  submitted their part, and the actions agreed.
* :mod:`vcop.qa.audit_import` reads findings from a panel's spreadsheet (`vcop audit import`),
  rejecting bad rows with their row and field as any extract does.
* :mod:`vcop.qa.agreement` sets the auditors' judgement beside the ledger's for every obligation
  the ledger judged, with the agreement rate and Cohen's kappa per right.
* :mod:`vcop.qa.report` writes the quarterly QA report (`vcop report audit`).
"""
