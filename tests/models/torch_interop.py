#!/usr/bin/python3
"""Checkpoints cross between tapegrad and PyTorch (run by torch_interop_test.cc).

  torch_interop.py check WEIGHTS IO   load tapegrad's WEIGHTS into nn.LSTM + nn.GRU with
                                      load_state_dict and compare their outputs on IO's "x"
                                      with tapegrad's ("lstm_out", "gru_out"); exit 1 if off.
  torch_interop.py export WEIGHTS IO  write a PyTorch-initialised model's state_dict and its
                                      outputs on a random x, for tapegrad to load and match.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_roundtrip as st  # noqa: E402


class Model(torch.nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size)
        self.gru = torch.nn.GRU(input_size, hidden_size)

    def forward(self, x):
        return self.lstm(x)[0], self.gru(x)[0]


def check(weights_path, io_path):
    weights = {k: torch.from_numpy(v) for k, v in st.read(weights_path).items()
               if not k.startswith(("optimizer.", "extra."))}  # not part of the module
    hidden, inputs = weights["lstm.weight_ih_l0"].shape
    model = Model(inputs, hidden // 4)
    model.load_state_dict(weights, strict=True)
    io = st.read(io_path)
    with torch.no_grad():
        lstm_out, gru_out = model(torch.from_numpy(io["x"]))
    ok = True
    for name, got in (("lstm_out", lstm_out), ("gru_out", gru_out)):
        want = torch.from_numpy(io[name])
        err = (got - want).abs().max().item()
        print(f"{name}: max abs difference {err:.3g}")
        ok = ok and err < 1e-5
    return 0 if ok else 1


def export(weights_path, io_path):
    torch.manual_seed(7)
    model = Model(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        lstm_out, gru_out = model(x)
    st.write(weights_path, {k: v.numpy() for k, v in model.state_dict().items()})
    st.write(io_path, {"x": x.numpy(), "lstm_out": lstm_out.numpy(), "gru_out": gru_out.numpy()})
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("check", "export"):
        sys.exit(__doc__)
    sys.exit((check if sys.argv[1] == "check" else export)(sys.argv[2], sys.argv[3]))
