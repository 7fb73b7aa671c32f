"""Event ingest and fan-out: pub/sub for live subscribers, streams for durable delivery."""
