"""Creating and upgrading a store."""
