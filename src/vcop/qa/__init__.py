"""Quality assurance: what people judge and track beside the ledger (the inspection tracker)."""
