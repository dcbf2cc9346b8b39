"""Canonical ONNX: the same computation always serialises to the same bytes.

tf2onnx names generated tensors with a global counter and deduplicates constants in set
order, so two conversions differ in names, initializer order and which duplicate survives.
Here every constant is named by its content and every node output by a hash of what computes
it (op, attributes, inputs), duplicates collapse, and nodes are put in a deterministic
topological order. Graph input and output names are kept: they are the model's interface.
"""

import hashlib
import heapq

import onnx

PRODUCER = "faceseal-models-build"


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.hexdigest()[:24]


def _constant_names(graph: onnx.GraphProto) -> dict[str, str]:
    renames: dict[str, str] = {}
    for tensor in graph.initializer:
        anonymous = onnx.TensorProto()
        anonymous.CopyFrom(tensor)
        anonymous.name = ""
        renames[tensor.name] = "const_" + _digest(anonymous.SerializeToString(deterministic=True))
    return renames


def _node_key(node: onnx.NodeProto, inputs: list[str]) -> str:
    for attribute in node.attribute:
        if attribute.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise ValueError(f"canonicalisation does not support subgraphs ({node.op_type})")
    attributes = [a.SerializeToString(deterministic=True) for a in sorted(node.attribute, key=lambda a: a.name)]
    return _digest(node.domain.encode(), node.op_type.encode(), *attributes, *(name.encode() for name in inputs))


def _rename_nodes(graph: onnx.GraphProto, renames: dict[str, str]) -> list[onnx.NodeProto]:
    """Rename in the given (topological) order; drop nodes identical to an earlier one."""
    kept_outputs = {value.name for value in graph.output}
    seen: dict[str, onnx.NodeProto] = {}
    for node in graph.node:
        inputs = [renames.get(name, name) for name in node.input]
        key = _node_key(node, inputs)
        if key in seen:
            for mine, theirs in zip(node.output, seen[key].output, strict=True):
                renames[mine] = theirs
            continue
        renamed = onnx.NodeProto()
        renamed.CopyFrom(node)
        renamed.name = "node_" + key
        renamed.doc_string = ""
        del renamed.input[:]
        renamed.input.extend(inputs)
        del renamed.output[:]
        for index, name in enumerate(node.output):
            canonical = name if name in kept_outputs or not name else f"t_{key}_{index}"
            renames[name] = canonical
            renamed.output.append(canonical)
        seen[key] = renamed
    return list(seen.values())


def _topological(nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    producer = {output: node.name for node in nodes for output in node.output}
    by_name = {node.name: node for node in nodes}
    waiting = {node.name: {producer[i] for i in node.input if i in producer} for node in nodes}
    users: dict[str, list[str]] = {name: [] for name in by_name}
    for name, deps in waiting.items():
        for dep in deps:
            users[dep].append(name)
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered: list[onnx.NodeProto] = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for user in users[name]:
            waiting[user].discard(name)
            if not waiting[user]:
                heapq.heappush(ready, user)
    if len(ordered) != len(nodes):
        raise ValueError("graph has a cycle")
    return ordered


def canonical_bytes(model: onnx.ModelProto) -> bytes:
    graph = model.graph
    renames = _constant_names(graph)
    nodes = _topological(_rename_nodes(graph, renames))
    used = {name for node in nodes for name in node.input}
    constants: dict[str, onnx.TensorProto] = {}
    for tensor in graph.initializer:
        name = renames[tensor.name]
        if name in used and name not in constants:
            renamed = onnx.TensorProto()
            renamed.CopyFrom(tensor)
            renamed.name = name
            constants[name] = renamed
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(constants[name] for name in sorted(constants))
    for output in graph.output:
        if output.name in renames and renames[output.name] != output.name:
            raise ValueError(f"graph output {output.name} was renamed")
    del graph.value_info[:]
    graph.doc_string = ""
    model.doc_string = ""
    model.producer_name = PRODUCER
    model.producer_version = ""
    del model.metadata_props[:]
    onnx.checker.check_model(model)
    canonical: bytes = model.SerializeToString(deterministic=True)
    return canonical
