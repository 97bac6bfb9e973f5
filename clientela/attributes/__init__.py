"""The attribute registry: declare custom attributes before storing values for them."""
