"""Reading and writing tables: one interface for local folders and s3:// URIs."""
