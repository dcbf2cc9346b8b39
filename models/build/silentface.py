"""Silent-Face MiniFASNet (V2 and V1SE) rebuilt from their state_dicts and exported to ONNX.

The upstream repository ships weights only as state_dicts. The network here follows the published
MiniFASNet architecture (conv blocks with PReLU, depth-wise bottlenecks, residual stages, optional SE on
the last block of a stage); every channel count and group is read from the tensor shapes, so the
definition cannot silently disagree with the weights (loading is strict).
"""

import io

import torch
from torch import nn

STRIDE_TWO = {"conv1", "conv_23", "conv_34", "conv_45"}


class ConvBlock(nn.Module):
    """conv (no bias) -> batch norm -> optional PReLU; groups derived from the weight shape."""

    def __init__(self, state: dict[str, torch.Tensor], prefix: str, in_channels: int, stride: int, prelu: bool) -> None:
        super().__init__()
        out_channels, per_group, kernel, _ = state[f"{prefix}.conv.weight"].shape
        padding = 0 if prefix.endswith("conv_6_dw") else kernel // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=in_channels // per_group,
                              bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.prelu = nn.PReLU(out_channels) if prelu else None
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return self.prelu(x) if self.prelu is not None else x


class SqueezeExcite(nn.Module):
    def __init__(self, state: dict[str, torch.Tensor], prefix: str, channels: int) -> None:
        super().__init__()
        reduced = state[f"{prefix}.fc1.weight"].shape[0]
        self.fc1 = nn.Conv2d(channels, reduced, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(reduced)
        self.fc2 = nn.Conv2d(reduced, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.relu(self.bn1(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1))))
        return x * torch.sigmoid(self.bn2(self.fc2(scale)))


class DepthWise(nn.Module):
    """1x1 expand -> 3x3 depth-wise -> 1x1 linear projection (+ SE) (+ identity shortcut)."""

    def __init__(self, state: dict[str, torch.Tensor], prefix: str, in_channels: int, stride: int,
                 residual: bool) -> None:
        super().__init__()
        self.conv = ConvBlock(state, f"{prefix}.conv", in_channels, 1, prelu=True)
        self.conv_dw = ConvBlock(state, f"{prefix}.conv_dw", self.conv.out_channels, stride, prelu=True)
        self.project = ConvBlock(state, f"{prefix}.project", self.conv_dw.out_channels, 1, prelu=False)
        self.out_channels = self.project.out_channels
        has_se = f"{prefix}.se_module.fc1.weight" in state
        self.se_module = SqueezeExcite(state, f"{prefix}.se_module", self.out_channels) if has_se else None
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.conv_dw(self.conv(x)))
        if self.se_module is not None:
            y = self.se_module(y)
        return x + y if self.residual else y


class Stage(nn.Module):
    def __init__(self, state: dict[str, torch.Tensor], prefix: str, in_channels: int) -> None:
        super().__init__()
        count = len({key.split(".")[2] for key in state if key.startswith(f"{prefix}.model.")})
        blocks = []
        for index in range(count):
            block = DepthWise(state, f"{prefix}.model.{index}", in_channels, 1, residual=True)
            blocks.append(block)
            in_channels = block.out_channels
        self.model = nn.Sequential(*blocks)
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MiniFASNet(nn.Module):
    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.conv1 = ConvBlock(state, "conv1", 3, 2, prelu=True)
        self.conv2_dw = ConvBlock(state, "conv2_dw", self.conv1.out_channels, 1, prelu=True)
        channels = self.conv2_dw.out_channels
        self.conv_23 = DepthWise(state, "conv_23", channels, 2, residual=False)
        self.conv_3 = Stage(state, "conv_3", self.conv_23.out_channels)
        self.conv_34 = DepthWise(state, "conv_34", self.conv_3.out_channels, 2, residual=False)
        self.conv_4 = Stage(state, "conv_4", self.conv_34.out_channels)
        self.conv_45 = DepthWise(state, "conv_45", self.conv_4.out_channels, 2, residual=False)
        self.conv_5 = Stage(state, "conv_5", self.conv_45.out_channels)
        self.conv_6_sep = ConvBlock(state, "conv_6_sep", self.conv_5.out_channels, 1, prelu=True)
        self.conv_6_dw = ConvBlock(state, "conv_6_dw", self.conv_6_sep.out_channels, 1, prelu=False)
        embedding, flat = state["linear.weight"].shape
        self.linear = nn.Linear(flat, embedding, bias=False)
        self.bn = nn.BatchNorm1d(embedding)
        self.prob = nn.Linear(embedding, state["prob.weight"].shape[0], bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4,
                      self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = stage(x)
        return self.prob(self.bn(self.linear(torch.flatten(x, 1))))


def load_state(source: bytes) -> dict[str, torch.Tensor]:
    state = torch.load(io.BytesIO(source), map_location="cpu", weights_only=True)
    return {key.removeprefix("module."): value for key, value in state.items()}


def state_dict_to_onnx(source: bytes) -> bytes:
    """Strict load, eval mode, legacy (TorchScript) exporter at opset 17 with a dynamic batch."""
    state = load_state(source)
    model = MiniFASNet(state)
    model.load_state_dict(state, strict=True)
    model.eval()
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, 80, 80), buffer, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    return buffer.getvalue()
