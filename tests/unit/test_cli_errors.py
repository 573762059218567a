"""A library error whose message quotes a cell must not reach the terminal without --debug."""

import pytest
from click.testing import CliRunner

from datarefresh import cli

CANARY = "canary.person@example.net"


def _boom(*args, **kwargs):
    raise ValueError(f"could not convert {CANARY!r}")


def test_unexpected_error_prints_type_and_place_not_its_message(monkeypatch, tmp_path):
    monkeypatch.setattr("datarefresh.refresh.local.sanitize_folder", _boom)
    (tmp_path / "src" / "t").mkdir(parents=True)
    result = CliRunner().invoke(
        cli.main, ["sanitize", str(tmp_path / "src"), str(tmp_path / "out"), "--demo-key"]
    )
    assert result.exit_code == 2
    assert CANARY not in result.output
    assert "unexpected ValueError in datarefresh.cli:sanitize" in result.output and "--debug" in result.output


def test_debug_shows_the_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr("datarefresh.refresh.local.sanitize_folder", _boom)
    (tmp_path / "src" / "t").mkdir(parents=True)
    with pytest.raises(ValueError):
        CliRunner().invoke(
            cli.main,
            ["--debug", "sanitize", str(tmp_path / "src"), str(tmp_path / "out"), "--demo-key"],
            catch_exceptions=False,
        )


def test_airflow_task_wrapper_withholds_library_messages():
    from datarefresh.airflow.tasks import _terminal_fails_fast

    @_terminal_fails_fast
    def task():
        raise ValueError(f"invalid value {CANARY!r}")

    with pytest.raises(RuntimeError) as info:
        task()
    assert CANARY not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__
    assert "unexpected ValueError" in str(info.value)
