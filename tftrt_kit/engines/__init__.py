"""Executors and builders: ONNX Runtime, TensorRT / TensorRT-RTX. Heavy modules load lazily."""
