"""The only package that imports Airflow: connections, the DAG factory, task wrappers, Variables."""
