"""Identity resolution: deterministic stitching on ingest (probabilistic matching later)."""
