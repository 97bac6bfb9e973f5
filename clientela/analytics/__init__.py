"""Analytics: lifetime value (and RFM, churn, cohorts, cross-sell as they come)."""
