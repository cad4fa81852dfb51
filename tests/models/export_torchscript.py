#!/usr/bin/python3
"""Writes the TorchScript files the import tests use, into the directory given.

Run with Debian's python3-torch and python3-torchvision (scripts/install-deps.sh
installs them); weights are random (seeded), nothing is downloaded.

  <name>_traced.pt    torch.jit.trace of a torchvision model in eval mode
  <name>_scripted.pt  torch.jit.script, then torch.jit.freeze(optimize_numerics=False)
                      (the numerics passes would fold batch norm into convolutions,
                      which changes the layers a zoo comparison counts)
  small_*.pt          small modules for the importer's corner cases
  model_dir/          a model directory: NAME.pt + NAME.json
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.manual_seed(0)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save_scripted(module, name):
    torch.jit.freeze(torch.jit.script(module.eval()), optimize_numerics=False).save(os.path.join(out, name))


def save_traced(module, example, name):
    with torch.no_grad():
        torch.jit.trace(module.eval(), example).save(os.path.join(out, name))


image = torch.rand(1, 3, 224, 224)
torchvision_models = {
    "resnet18": lambda: torchvision.models.resnet18(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "googlenet": lambda: torchvision.models.googlenet(init_weights=False),
}
for name, make in torchvision_models.items():
    model = make().eval()
    save_traced(model, image, f"{name}_traced.pt")
    save_scripted(model, f"{name}_scripted.pt")

# Models the zoo does not have: only traced (what users most often save).
unseen = {
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(),  # hardswish, SE blocks (mul)
    "shufflenet_v2_x0_5": lambda: torchvision.models.shufflenet_v2_x0_5(),  # chunk, transpose, view
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),  # silu, sigmoid, stochastic depth
}
for name, make in unseen.items():
    save_traced(make().eval(), image, f"{name}_traced.pt")


class ShapeArithmetic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        y = self.conv(x)
        return self.fc(y.view(y.size(0), -1))


class ChunkSplit(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x):
        y = self.conv(x)
        a, b = y.chunk(2, 1)
        c, d = torch.split(y, [3, 5], 1)
        return torch.cat([a * b, c.relu(), d.sigmoid()], 1)


class ResidualCat(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(8, 6, 1)

    def forward(self, x):
        y = F.relu(self.bn(self.conv1(x)))
        y = y + x
        return self.conv2(torch.cat([x, y], 1))


class TupleOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)

    def forward(self, x):
        y = self.conv(x)
        return y.relu(), (y.mean([2, 3]), y.flatten(1))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(10, 4)

    def forward(self, image, features):
        a = self.conv(image).mean([2, 3])
        return a + self.fc(features)


class UnrolledLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(3)])

    def forward(self, x):
        for conv in self.convs:  # TorchScript unrolls a ModuleList itself
            x = conv(x).relu()
        for _ in range(x.size(1) // 2):  # a prim::Loop whose trip count comes from a shape
            x = x * 0.5
        return x


class UnsupportedOp(nn.Module):
    def forward(self, x):
        return torch.nonzero(x > 0.5)


class DataValue(nn.Module):
    def forward(self, x):
        scale = x.sum().item()
        return x * scale


class DataBranch(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x.relu()
        return -x


class InputMutation(nn.Module):
    def forward(self, x):
        x.add_(1.0)
        return x * 2


class Attention(nn.Module):
    """A ViT encoder block's attention: traced in eval mode without grad,
    nn.MultiheadAttention takes its fast path, aten::_native_multi_head_attention,
    whose second output (the weights, need_weights=False) is undefined."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        y = self.norm(x)
        y, _ = self.attention(y, y, y, need_weights=False)
        return x + y


class ZeroDropoutInTraining(nn.Module):
    """torchvision's Swin calls dropout with training=True and p=0.0 even in
    eval mode: an identity all the same."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return F.dropout(self.fc(x), p=0.0, training=True).relu()


class MaskFromMetadata(nn.Module):
    """Swin's attention mask: a tensor made from x's metadata (x.new_zeros),
    filled slice by slice, then added to data: a constant under the shapes."""

    def forward(self, x):
        mask = x.new_zeros((x.size(2), x.size(3)))
        mask[0:2, :] = 1.0
        mask[:, 3:] = 2.0
        return x + mask


class AlwaysDropout(nn.Module):
    """Dropout forced on whatever the module's mode (the importer's eval() does
    not reach it): not an identity, so not importable."""

    def forward(self, x):
        return F.dropout(x, p=0.5, training=True)


small = {
    "small_shape_arithmetic": (ShapeArithmetic(), (torch.rand(1, 3, 8, 8),)),
    "small_chunk_split": (ChunkSplit(), (torch.rand(1, 3, 6, 6),)),
    "small_residual_cat": (ResidualCat(), (torch.rand(1, 4, 6, 6),)),
    "small_tuple_outputs": (TupleOutputs(), (torch.rand(1, 3, 7, 7),)),
    "small_two_inputs": (TwoInputs(), (torch.rand(1, 3, 8, 8), torch.rand(1, 10))),
    "small_unrolled_loop": (UnrolledLoop(), (torch.rand(1, 4, 6, 6),)),
    "small_unsupported_op": (UnsupportedOp(), (torch.rand(1, 3, 4, 4),)),
    "small_data_value": (DataValue(), (torch.rand(1, 3, 4, 4),)),
    "small_data_branch": (DataBranch(), (torch.rand(1, 3, 4, 4),)),
    "small_input_mutation": (InputMutation(), (torch.rand(1, 3, 4, 4),)),
}
for name, (module, example) in small.items():
    torch.jit.script(module.eval()).save(os.path.join(out, f"{name}.pt"))
save_traced(TwoInputs(), small["small_two_inputs"][1], "small_two_inputs_traced.pt")
save_traced(Attention(), torch.rand(1, 5, 8), "small_attention_traced.pt")
save_traced(ZeroDropoutInTraining(), torch.rand(2, 6), "small_zero_dropout_traced.pt")
save_traced(MaskFromMetadata(), torch.rand(1, 2, 4, 5), "small_mask_traced.pt")
save_scripted(AlwaysDropout(), "small_training_dropout.pt")

model_dir = os.path.join(out, "model_dir")
os.makedirs(model_dir, exist_ok=True)
save_traced(torchvision.models.resnet18().eval(), image, os.path.join("model_dir", "myresnet.pt"))
with open(os.path.join(model_dir, "myresnet.json"), "w") as f:
    json.dump({"input": "1x3x224x224"}, f)
torch.jit.script(TwoInputs().eval()).save(os.path.join(model_dir, "twoin.pt"))
with open(os.path.join(model_dir, "twoin.json"), "w") as f:
    json.dump({"input": "1x3x8x8,1x10"}, f)
print(f"wrote TorchScript test models to {out}")
