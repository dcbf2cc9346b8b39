"""Recorded, deterministic transforms from verified source bytes to servable ONNX bytes."""

import os
from collections.abc import Callable

import onnx
from onnx import numpy_helper
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from models.build.canonical import canonical_bytes
from models.build.rewrites import prelu_as_max_min


def centerface_dynamic_shapes(source: bytes) -> bytes:
    """Drop weights listed as graph inputs and make batch, height and width dynamic.

    The shipped graph (old exporter) fixes 10x3x32x32; heads come out at a quarter of the input.
    """
    model = onnx.load_from_string(source)
    weights = {tensor.name for tensor in model.graph.initializer}
    image_inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(image_inputs)
    (image,) = image_inputs
    heads = {"537": 1, "538": 2, "539": 2, "540": 10}
    model = update_inputs_outputs_dims(
        model,
        {image.name: ["N", 3, "H", "W"]},
        {name: ["N", channels, "h", "w"] for name, channels in heads.items()},
    )
    return canonical_bytes(model)


def yunet_dynamic_shapes(source: bytes) -> bytes:
    """Make YuNet's height and width dynamic (its Reshapes already use -1, so only the declared shapes fix
    640x640); batch stays 1. Each head is [1, cells at its stride, channels]."""
    model = onnx.load_from_string(source)
    heads = {}
    for output in model.graph.output:
        _, stride = output.name.split("_")  # cls_8, obj_16, bbox_32, kps_8 ...
        heads[output.name] = [1, f"n{stride}", output.type.tensor_type.shape.dim[2].dim_value]
    model = update_inputs_outputs_dims(model, {"input": [1, 3, "H", "W"]}, heads)
    return canonical_bytes(model)


def tf_graphdef_to_onnx(source: bytes) -> bytes:
    """Convert the FaceNet frozen TensorFlow graph with tf2onnx (opset 17), then canonicalise."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf2onnx

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(source)
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=["input:0"],
        output_names=["embeddings:0"],
        opset=17,
        shape_override={"input:0": [None, 160, 160, 3]},
    )
    model = update_inputs_outputs_dims(
        _batch_preserving_reshapes(model), {"input:0": ["N", 160, 160, 3]}, {"embeddings:0": ["N", 512]}
    )
    return canonical_bytes(model)


def _batch_preserving_reshapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """The frozen graph reshapes with a literal batch of 1; ONNX's 0 copies the input's batch."""
    shape_inputs = {node.input[1] for node in model.graph.node if node.op_type == "Reshape"}
    for tensor in model.graph.initializer:
        if tensor.name in shape_inputs:
            shape = numpy_helper.to_array(tensor).copy()
            if shape.size and shape[0] == 1:
                shape[0] = 0
                tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
    return model


def torch_state_dict_to_onnx(source: bytes) -> bytes:
    """Rebuild Silent-Face MiniFASNet from its state_dict, export with torch, canonicalise."""
    from models.build.silentface import state_dict_to_onnx

    return canonical_bytes(onnx.load_from_string(state_dict_to_onnx(source)))


def unfused_prelu(source: bytes) -> bytes:
    """The same computation with PRelu spelled as max, min, multiply and add (models/build/rewrites.py)."""
    return canonical_bytes(prelu_as_max_min(onnx.load_from_string(source)))


def none(source: bytes) -> bytes:
    """Serve the upstream file byte for byte: its digest stays the upstream digest."""
    return source


TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "centerface_dynamic_shapes": centerface_dynamic_shapes,
    "yunet_dynamic_shapes": yunet_dynamic_shapes,
    "tf_graphdef_to_onnx": tf_graphdef_to_onnx,
    "torch_state_dict_to_onnx": torch_state_dict_to_onnx,
    "unfused_prelu": unfused_prelu,
    "none": none,
}
SEPARATOR = "+"  # "a+b": transform a, then b on its output


def transform_steps(spec: str) -> list[Callable[[bytes], bytes]]:
    """The transforms a source names, in order; an unknown name is refused."""
    names = spec.split(SEPARATOR)
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown transform {unknown}; known: {sorted(TRANSFORMS)}")
    return [TRANSFORMS[name] for name in names]


def run_transforms(spec: str, source: bytes) -> bytes:
    for step in transform_steps(spec):
        source = step(source)
    return source


def tool_versions() -> dict[str, str]:
    import onnxruntime
    import tensorflow as tf
    import tf2onnx
    import torch

    return {
        "onnx": onnx.__version__,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "tensorflow": tf.__version__,
        "tf2onnx": tf2onnx.__version__,
    }
