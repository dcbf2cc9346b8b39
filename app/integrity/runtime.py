"""onnxruntime sessions created from bytes already in memory (never from a path)."""

import onnxruntime as ort

from app.integrity.lockfile import TensorSpec


def new_session(model_bytes: bytes, threads: int, memory_arena: bool = True) -> ort.InferenceSession:
    """`memory_arena=False` for models whose spatial input size varies per request: an arena keeps
    the largest blocks it ever saw, so RSS would creep with every new image size."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Three sessions share two cores; spinning workers of an idle session would steal them from the
    # busy one (measured: every stage ~2x slower inside the pipeline than alone).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = memory_arena
    return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])


def tensor_specs(session: ort.InferenceSession) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The I/O signature as recorded in the lock (symbolic dims kept by name)."""

    def describe(args: list[ort.NodeArg]) -> list[TensorSpec]:
        return [
            TensorSpec(name=arg.name, type=arg.type, shape=[d if isinstance(d, int) else str(d) for d in arg.shape])
            for arg in args
        ]

    return describe(session.get_inputs()), describe(session.get_outputs())
