"""The run: one table through classify -> anonymize -> sample -> write (`table`), the local-folder
`sanitize` path (`local`) and the S3 refresh in three steps, `plan` -> `unit` -> `publish`,
run in one process by `run` (the Airflow DAG runs them as tasks)."""
