"""The append-only, hash-chained audit trail: queue, batch writer, local spool, query API."""
