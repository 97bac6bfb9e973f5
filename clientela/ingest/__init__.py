"""Collection: the Segment-compatible tracking API and (soon) bulk imports."""
