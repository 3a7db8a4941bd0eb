"""The FastAPI application: ``create_app`` wires routes, state, metrics and the indexer thread."""
