"""The SavedModel writer whose TF1 saver is graph nodes: what TF1's loader and saver see, and when TensorFlow's saver is kept."""

import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tftrt_kit.saved_model_save import SCOPE, save_saved_model  # noqa: E402

OPTIONS = dict(experimental_custom_gradients=False)


class Affine(tf.Module):
    """Variables of three dtypes and shapes, every one read by the signature."""

    def __init__(self, second_name="bias"):
        super().__init__()
        rng = np.random.default_rng(0)
        self.kernel = tf.Variable(rng.normal(size=(3, 4)).astype("float32"), name="kernel")
        self.bias = tf.Variable(rng.normal(size=(4,)).astype("float32"), name=second_name)
        self.scale = tf.Variable(np.int64(3), name="scale")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": (tf.matmul(x, self.kernel) + self.bias) * tf.cast(self.scale, tf.float32)}


def _save(module, directory):
    save_saved_model(module, directory, {"serving_default": module.__call__.get_concrete_function()}, tf.saved_model.SaveOptions(**OPTIONS))


def _tf1_run(directory, x, save_to=None):
    """Outputs of the TF1 loader's session; with ``save_to``, also run the SaverDef's save there."""
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(directory))
        signature = meta_graph.signature_def["serving_default"]
        outputs = session.run({k: v.name for k, v in signature.outputs.items()}, {signature.inputs["x"].name: x})
        if save_to is not None:
            session.run(meta_graph.saver_def.save_tensor_name, {meta_graph.saver_def.filename_tensor_name: str(save_to)})
        return outputs, meta_graph.saver_def


X = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")


def test_the_tf1_loader_restores_every_variable_through_the_graph_saver(tmp_path):
    module = Affine()
    _save(module, tmp_path / "m")
    outputs, saver = _tf1_run(tmp_path / "m", X, save_to=tmp_path / "ckpt" / "c")
    assert saver.restore_op_name == f"{SCOPE}/restore_all"
    np.testing.assert_allclose(outputs["y"], module(X)["y"].numpy(), rtol=1e-6)
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(reloaded.signatures["serving_default"](x=X)["y"].numpy(), outputs["y"], rtol=1e-6)


def test_the_tf1_save_writes_a_checkpoint_that_restores_object_by_object(tmp_path):
    module = Affine()
    _save(module, tmp_path / "m")
    _tf1_run(tmp_path / "m", X, save_to=tmp_path / "ckpt" / "c")
    other = Affine()
    for variable in other.trainable_variables:
        variable.assign(tf.zeros_like(variable))
    other.scale.assign(0)
    tf.train.Checkpoint(other).read(str(tmp_path / "ckpt" / "c")).assert_existing_objects_matched()
    for mine, theirs in zip(module.variables, other.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_the_fingerprint_is_the_rewritten_files(tmp_path):
    from tensorflow.python.saved_model import fingerprinting_utils

    _save(Affine(), tmp_path / "m")
    shutil.copytree(tmp_path / "m", tmp_path / "copy")
    (tmp_path / "copy" / "fingerprint.pb").unlink()
    fingerprinting_utils.write_fingerprint(str(tmp_path / "copy"))
    written, fresh = (tf.saved_model.experimental.read_fingerprint(str(tmp_path / d)) for d in ("m", "copy"))
    assert written.saved_model_checksum == fresh.saved_model_checksum != 0


class Doubling(tf.Module):
    """No variable at all (a graph of constants, like TF-TRT's test graphs)."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": x * 2.0}


def test_a_model_without_variables_saves_and_loads_by_both_loaders(tmp_path):
    module = Doubling()
    _save(module, tmp_path / "m")
    outputs, saver = _tf1_run(tmp_path / "m", X, save_to=tmp_path / "ckpt" / "c")
    assert saver.restore_op_name == f"{SCOPE}/restore_all"
    np.testing.assert_allclose(outputs["y"], X * 2.0)
    np.testing.assert_allclose(tf.saved_model.load(str(tmp_path / "m")).signatures["serving_default"](x=X)["y"].numpy(), X * 2.0)


def test_two_variables_of_one_name_keep_tensorflows_saver(tmp_path):
    """Their handles in the graph cannot be told apart by name, so TensorFlow's traced saver is written."""
    module = Affine(second_name="kernel")
    _save(module, tmp_path / "m")
    outputs, saver = _tf1_run(tmp_path / "m", X)
    assert saver.restore_op_name and not saver.restore_op_name.startswith(SCOPE)
    np.testing.assert_allclose(outputs["y"], module(X)["y"].numpy(), rtol=1e-6)


class Table(tf.Module):
    """A checkpointed hash table beside a variable: state that is not a variable value."""

    def __init__(self):
        super().__init__()
        self.table = tf.lookup.experimental.MutableHashTable(tf.string, tf.float32, default_value=-1.0)
        self.table.insert(tf.constant(["a", "b"]), tf.constant([1.5, 2.5]))
        self.offset = tf.Variable(10.0, name="offset")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="x")])
    def __call__(self, x):
        return {"y": self.table.lookup(x) + self.offset}


def test_a_checkpointed_table_keeps_tensorflows_saver(tmp_path):
    module = Table()
    _save(module, tmp_path / "m")
    keys = np.array([b"a", b"b", b"c"])
    outputs, saver = _tf1_run(tmp_path / "m", keys)
    assert saver.restore_op_name and not saver.restore_op_name.startswith(SCOPE)
    np.testing.assert_allclose(outputs["y"], [11.5, 12.5, 9.0])
