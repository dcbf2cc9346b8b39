"""Inference core: bytes -> validated image -> faces -> crops -> scores -> decision."""
