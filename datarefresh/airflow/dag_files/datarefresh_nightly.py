"""Nightly (and on demand) sanitized refresh of dev and staging. See the DAG's doc_md.

The graph is built from the config (DATAREFRESH_CONFIG, or the bundled demo config)
by datarefresh.airflow.dags; this file only wires it. It ships in the package, so
`datarefresh.airflow.dags.dags_folder()` (this folder) works as Airflow's dags folder from a
wheel install; an Airflow whose dags folder holds other DAGs gets a copy of these two lines.
"""

from datarefresh.airflow.dags import build_nightly_dag

dag = build_nightly_dag()
