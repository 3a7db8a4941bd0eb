"""The API's content-addressed blob store: files on disk, signed uploads, per-address quotas."""
