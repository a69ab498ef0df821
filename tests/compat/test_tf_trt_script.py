"""A TF-TRT script, as TF-TRT's documentation wrote it, runs with only its import changed."""

from __future__ import annotations

import numpy as np
import pytest

import tftrt_kit
from tftrt_kit.evaluate import compare

TF_TRT_IMPORT = "from tensorflow.python.compiler.tensorrt import trt_convert as trt"

#: TF-TRT's user-guide recipe (FP16, build with an input function, save, load, infer).
#: The caller provides input_saved_model_dir, output_saved_model_dir, input_shape, reference_fn.
TF_TRT_SCRIPT = f'''
import numpy as np
import tensorflow as tf
{TF_TRT_IMPORT}
from tensorflow.python.saved_model import signature_constants, tag_constants

conversion_params = trt.DEFAULT_TRT_CONVERSION_PARAMS._replace(
    precision_mode=trt.TrtPrecisionMode.FP16, max_workspace_size_bytes=1 << 28)
converter = trt.TrtGraphConverterV2(
    input_saved_model_dir=input_saved_model_dir, conversion_params=conversion_params)
converter.convert()

def my_input_fn():
    for batch in (1, 4):
        yield (np.random.normal(size=(batch, *input_shape)).astype(np.float32),)

converter.build(input_fn=my_input_fn)
converter.save(output_saved_model_dir)
converter.summary()

saved_model_loaded = tf.saved_model.load(output_saved_model_dir, tags=[tag_constants.SERVING])
graph_func = saved_model_loaded.signatures[signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
x = np.random.normal(size=(2, *input_shape)).astype(np.float32)
output = graph_func(tf.constant(x))
for key, value in output.items():
    np.testing.assert_allclose(value.numpy(), reference_fn(x)[key], rtol=1e-5, atol=1e-5)
'''


def run_tf_trt_script(saved_model_dir, output_dir, capsys) -> tuple[dict, str]:
    """Run :data:`TF_TRT_SCRIPT` with its one import line swapped; returns its globals and printed text."""
    import tensorflow as tf

    from tftrt_kit.source import load_source

    source = load_source(saved_model_dir)
    script = TF_TRT_SCRIPT.replace(TF_TRT_IMPORT, "from tftrt_kit.compat import trt_convert as trt")
    assert script.count("tftrt_kit") == 1
    namespace = {
        "input_saved_model_dir": str(saved_model_dir),
        "output_saved_model_dir": str(output_dir),
        "input_shape": tuple(source.inputs[0].shape[1:]),
        "reference_fn": lambda x: source.run({source.inputs[0].name: x}),
    }
    with pytest.warns(DeprecationWarning, match="conversion_params"):
        exec(compile(script, "tf_trt_script.py", "exec"), namespace)
    tf.keras.backend.clear_session()
    return namespace | {"source": source}, capsys.readouterr().out


def _check_runtime(namespace, output_dir, max_rel_error):
    """The saved model also runs through tftrt_kit's runtime, segments outside TensorFlow."""
    source, x = namespace["source"], namespace["x"]
    model = tftrt_kit.load(output_dir)
    assert model.segment_executors and "tensorflow" not in model.segment_executors.values()
    reference = source.run({source.inputs[0].name: x})
    assert compare(reference, model({source.inputs[0].name: x}), executor=model.executor).max_rel_error <= max_rel_error


def test_script_on_middle_op(saved_model, tmp_path, capsys):
    namespace, printed = run_tf_trt_script(saved_model("middle_op"), tmp_path / "trt", capsys)
    converter = namespace["converter"]
    assert len(converter.route_result.segments) == 2
    assert "[*] Total number of TensorRT engines: 2" in printed and "Lgamma: 1x" in printed
    _check_runtime(namespace, tmp_path / "trt", max_rel_error=1e-2)


@pytest.mark.slow
def test_script_on_resnet50(tmp_path, capsys):
    import keras

    keras.utils.set_random_seed(0)
    keras.applications.ResNet50(weights=None, classifier_activation=None).export(str(tmp_path / "resnet50"), verbose=False)
    namespace, printed = run_tf_trt_script(tmp_path / "resnet50", tmp_path / "trt", capsys)
    segments = namespace["converter"].route_result.segments
    assert len(segments) >= 1 and "[*] % of OPs Converted:" in printed
    _check_runtime(namespace, tmp_path / "trt", max_rel_error=5e-2)
    assert np.isfinite(namespace["output"]["output_0"].numpy()).all()
