"""The marketplace API (docs/PROTOCOL.md §3): one FastAPI service that indexes the protocol's events into SQL,
stores content-addressed blobs, validates job specs, and serves a read API, a live dashboard and
Prometheus metrics. It never holds a user's key: clients sign their own transactions and uploads.
"""
