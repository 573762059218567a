"""Storage: S3 URIs, role-scoped clients, snapshots and atomic publish."""
