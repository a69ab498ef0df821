"""A convert() call a user got wrong fails at once, each fault named once, before any model loads."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import tftrt_kit
from tftrt_kit.errors import ConfigError, OutputDirError, SourceError
from tftrt_kit.preflight import check_call

VALID = dict(routes=("onnx",), precision="fp32", calibration_data=None, calibration_method="max", output_dir=None, overwrite=False)


@pytest.mark.parametrize("change, error, match", [
    ({"precision": "int8"}, ConfigError, "Expected calibration_data for precision='int8'"),
    ({"routes": ("onnx", "onnx")}, ConfigError, r"Expected each route once.*repeating \['onnx'\]"),
    ({"routes": ("onnx", "nope")}, ConfigError, r"Received: \['nope'\]"),
    ({"routes": ()}, ConfigError, "Expected a sequence of route names"),
    ({"routes": "onnx"}, ConfigError, "Expected a sequence of route names"),
    ({"precision": "int4"}, ConfigError, "precision='int4'"),
    ({"calibration_method": "median"}, ConfigError, "calibration_method='median'"),
    ({"route_options": {"segment": object()}}, ConfigError, r"options for \['segment'\]"),
])
def test_each_fault_is_named(change, error, match, tmp_path):
    with pytest.raises(error, match=match):
        check_call(tmp_path, **{**VALID, **change})


def test_missing_source_and_clobbered_route_directory(tmp_path):
    with pytest.raises(SourceError, match="which does not exist"):
        check_call(tmp_path / "nowhere", **VALID)
    (tmp_path / "out" / "onnx").mkdir(parents=True)
    (tmp_path / "out" / "onnx" / "model.onnx").write_bytes(b"x")
    with pytest.raises(OutputDirError, match="overwrite"):
        check_call(tmp_path, **{**VALID, "output_dir": tmp_path / "out"})
    check_call(tmp_path, **{**VALID, "output_dir": tmp_path / "out", "overwrite": True})
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputDirError, match="which is a file"):
        check_call(tmp_path, **{**VALID, "output_dir": tmp_path / "file", "overwrite": True})


def test_several_faults_one_line_each(tmp_path):
    with pytest.raises(ConfigError) as raised:
        check_call(tmp_path, **{**VALID, "routes": ("onnx", "onnx"), "precision": "int8"})
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("Expected a valid convert() call. Received 2 faults")
    assert len(lines) == 3 and "route once" in lines[1] and "calibration_data" in lines[2]


def test_convert_and_cli_refuse_before_loading_tensorflow(tmp_path):
    (tmp_path / "model").mkdir()
    script = textwrap.dedent(f"""
        import sys
        import tftrt_kit
        from tftrt_kit.cli import main
        try:
            tftrt_kit.convert({str(tmp_path / "model")!r}, precision="int8")
        except tftrt_kit.errors.ConfigError:
            pass
        code = main(["convert", {str(tmp_path / "model")!r}, "--precision", "int8"])
        print(code, "tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False", "False"], done.stderr
    assert done.stderr.count("error: ConfigError: Expected calibration_data") == 1 and len(done.stderr.splitlines()) == 1


def test_convert_raises_before_work(tmp_path):
    with pytest.raises(ConfigError, match="route once"):
        tftrt_kit.convert(tmp_path, routes=("onnx", "onnx"))
