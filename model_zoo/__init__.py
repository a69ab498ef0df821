"""Keras model zoo and its benchmark. Uses tftrt_kit; tftrt_kit never imports it."""
