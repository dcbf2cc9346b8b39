"""Each model wrapper feeds its model exactly as the sealed lock's contract says, or refuses to start.

A wrapper implements some preprocessing (one tensor layout, a colour order, its crops); a contract
value it does not implement would otherwise be silently ignored, and the model fed differently from
how it was sealed and calibrated. So every wrapper checks every contract field at construction.
"""

from collections.abc import Collection

from app.integrity.lockfile import ModelEntry


class ContractError(ValueError):
    """A sealed model contract asks for preprocessing its wrapper does not implement."""


def require(entry: ModelEntry, field: str, implemented: Collection[object]) -> None:
    """Refuse `entry` unless its contract's `field` is one of the values the wrapper implements."""
    value = getattr(entry.preprocessing, field)
    if value not in implemented:
        raise ContractError(f"{entry.name}: preprocessing.{field} is {value!r}, which its wrapper does not "
                            f"implement (it implements {', '.join(repr(v) for v in implemented)})")


def require_all(entry: ModelEntry, implemented: dict[str, Collection[object]]) -> None:
    """`require` for each field the wrapper implements in one way or a few."""
    for field, values in implemented.items():
        require(entry, field, values)


def require_raw_detector(entry: ModelEntry, colour: str) -> None:
    """A detector fed raw 0-255 pixels in `colour` order, NCHW, at any size and without crops."""
    require_all(entry, {"layout": ["NCHW"], "colour": [colour], "mean": [0.0], "std": [1.0], "size": [None],
                        "crop_scale": [None], "crop_mode": [None], "real_index": [None]})


def require_input(entry: ModelEntry) -> str:
    """The contract's input name, refused unless the model has that input."""
    name, inputs = entry.preprocessing.input_name, [spec.name for spec in entry.inputs]
    if name not in inputs:
        raise ContractError(f"{entry.name}: preprocessing.input_name is {name!r}; the model's inputs are {inputs}")
    return name


def require_outputs(entry: ModelEntry, names: Collection[str]) -> None:
    """Refuse `entry` unless its contract and the model both name exactly these outputs (in any order:
    the wrapper asks for each output by its name)."""
    declared, model = sorted(entry.preprocessing.outputs), sorted(spec.name for spec in entry.outputs)
    if declared != sorted(names) or model != sorted(names):
        raise ContractError(f"{entry.name}: preprocessing.outputs name {declared} and the model {model}; "
                            f"its wrapper reads {sorted(names)}")


def single_output(entry: ModelEntry) -> str:
    """The name of the one output a single-output model's contract declares."""
    if len(entry.preprocessing.outputs) != 1:
        raise ContractError(f"{entry.name}: preprocessing.outputs name {sorted(entry.preprocessing.outputs)}; "
                            "its wrapper reads exactly one output")
    (name,) = entry.preprocessing.outputs
    require_outputs(entry, [name])
    return name
