"""Tests of tftrt_kit.segment."""
