"""Sources: where data comes from (API, imports, tracking keys, CRMs), with a trust rank."""
