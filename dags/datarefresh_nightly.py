"""Nightly (and on demand) sanitized refresh of dev and staging. See the DAG's doc_md.

The graph is built from the config (DATAREFRESH_CONFIG, or the bundled demo config)
by datarefresh.airflow.dags; this file only wires it.
"""

from datarefresh.airflow.dags import build_nightly_dag

dag = build_nightly_dag()
