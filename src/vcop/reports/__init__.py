"""Documents vcop writes from the metrics and the ledger. Reports compute nothing new."""
