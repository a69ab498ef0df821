"""Native log lines (written by C++ to descriptor 2) stay out of the terminal unless asked, and stay readable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tftrt_kit.native_logs import VERBOSE_ENV, captured, quiet_tensorflow, verbose_requested, verbosity


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), (" ON ", True), ("0", False), ("", False), ("no", False)])
def test_verbose_is_read_from_one_variable(value, expected):
    assert verbose_requested({VERBOSE_ENV: value}) is expected
    assert verbose_requested({}) is False


def test_verbosity_overrides_the_variable_within_its_block(monkeypatch, capfd):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with verbosity(True):
        assert verbose_requested()
        with captured() as log:  # what convert() does inside the CLI's --verbose
            os.write(2, b"let through\n")
        assert log is None
    assert not verbose_requested() and "let through" in capfd.readouterr().err


def test_quiet_tensorflow_keeps_a_users_level():
    environ: dict[str, str] = {}
    quiet_tensorflow(environ)
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "2"}
    mine = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    quiet_tensorflow(mine)
    assert mine == {"TF_CPP_MIN_LOG_LEVEL": "0"}
    verbose = {VERBOSE_ENV: "1"}
    quiet_tensorflow(verbose)
    assert "TF_CPP_MIN_LOG_LEVEL" not in verbose


def test_descriptor_2_is_captured_and_python_stderr_is_not(capfd):
    with captured(True) as log:
        os.write(2, b"E0000 native line\n")
        print("tftrt_kit's own message", file=sys.stderr)
        with captured(True) as inner:
            assert inner is log
            os.write(2, b"[TRT] [E] second line\n")
        assert log.tail() == ["E0000 native line", "[TRT] [E] second line"]
        mark = log.offset()
        os.write(2, b"third\n")
        assert log.tail(mark) == ["third"]
    err = capfd.readouterr().err
    assert "tftrt_kit's own message" in err and "native line" not in err and "second line" not in err
    os.write(2, b"after the block\n")
    assert "after the block" in capfd.readouterr().err


def test_a_handler_made_during_a_capture_still_writes_after_it(capfd):
    import logging

    logger = logging.getLogger("tftrt_kit.test_native_logs")
    with captured(True):
        handler = logging.StreamHandler()  # binds the sys.stderr of the moment, as a library imported here would
    logger.addHandler(handler)
    try:
        logger.warning("after the capture")
    finally:
        logger.removeHandler(handler)
    err = capfd.readouterr().err
    assert "after the capture" in err and "Logging error" not in err


def test_disabled_capture_lets_lines_through(capfd):
    with captured(False) as log:
        os.write(2, b"let through\n")
    assert log is None and "let through" in capfd.readouterr().err


_IMPORT_TF = textwrap.dedent("""
    from tftrt_kit.native_logs import captured, quiet_tensorflow
    quiet_tensorflow()
    with captured() as log:
        import tensorflow as tf
        tf.constant([1.0]) + 1.0
    print("done")
""")


def _run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-c", _IMPORT_TF], capture_output=True, text=True, timeout=300, env={**env, **env_extra})


def test_tensorflow_start_up_lines_stay_out_of_stderr():
    quiet = _run({})
    assert quiet.returncode == 0 and quiet.stdout.strip() == "done"
    assert quiet.stderr == ""
    loud = _run({VERBOSE_ENV: "1"})
    if not loud.stderr:
        pytest.skip("this TensorFlow build writes no native start-up line, so there is nothing to keep out")
    assert loud.returncode == 0


_QUIET_SESSION = textwrap.dedent("""
    import os, tftrt_kit
    log = tftrt_kit.quiet()
    assert tftrt_kit.quiet() is log
    import tensorflow as tf
    tf.constant([1.0]) + 1.0
    os.write(2, b"[TRT] [E] a parser line\\n")
    print("kept", any("parser line" in line for line in log.tail()))
""")


def test_quiet_keeps_a_whole_session_quiet():
    env = {k: v for k, v in os.environ.items() if k not in (VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")}
    done = subprocess.run([sys.executable, "-c", _QUIET_SESSION], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "kept True" and done.stderr == ""
