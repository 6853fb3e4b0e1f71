#!/usr/bin/python3
"""Writes PyTorch reference files for the cell-agreement tests (tests/models/testdata/*.json).

For nn.RNN (tanh, relu), nn.LSTM (1 and 2 layers, given h0/c0) and nn.GRU, in float64:
inputs, weights (state_dict keys), outputs and the gradients of
    loss = sum(output * w_out) + sum(h_n * w_h) [+ sum(c_n * w_c)]
with fixed random weights w_*, with respect to the input, the initial state and every
parameter. Run it with Debian's interpreter (the one that has torch); the files it writes are
committed, so the tests need no torch.
"""
import json
import os

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def make(name, module_cls, seq_len=5, batch=3, input_size=4, hidden_size=5, **kwargs):
    torch.manual_seed(1234)
    module = module_cls(input_size, hidden_size, **kwargs).double()
    layers = kwargs.get("num_layers", 1)
    is_lstm = module_cls is torch.nn.LSTM
    x = torch.randn(seq_len, batch, input_size, requires_grad=True)
    h0 = (0.5 * torch.randn(layers, batch, hidden_size)).requires_grad_()
    c0 = (0.5 * torch.randn(layers, batch, hidden_size)).requires_grad_()
    out, state = module(x, (h0, c0)) if is_lstm else module(x, h0)
    w_out = torch.randn_like(out)
    w_h = torch.randn(layers, batch, hidden_size)
    w_c = torch.randn(layers, batch, hidden_size)
    h_n = state[0] if is_lstm else state
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    if is_lstm:
        loss = loss + (state[1] * w_c).sum()
    loss.backward()

    record = {
        "module": module_cls.__name__,
        "kwargs": kwargs,
        "seq_len": seq_len, "batch": batch, "input_size": input_size,
        "hidden_size": hidden_size, "num_layers": layers,
        "inputs": {"x": tensor_json(x), "h0": tensor_json(h0)},
        "loss_weights": {"output": tensor_json(w_out), "h_n": tensor_json(w_h)},
        "params": {k: tensor_json(v) for k, v in module.state_dict().items()},
        "outputs": {"output": tensor_json(out), "h_n": tensor_json(h_n)},
        "loss": float(loss),
        "grads": {"x": tensor_json(x.grad), "h0": tensor_json(h0.grad)},
    }
    if is_lstm:
        record["inputs"]["c0"] = tensor_json(c0)
        record["loss_weights"]["c_n"] = tensor_json(w_c)
        record["outputs"]["c_n"] = tensor_json(state[1])
        record["grads"]["c0"] = tensor_json(c0.grad)
    for k, p in module.named_parameters():
        record["grads"][k] = tensor_json(p.grad)
    with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
        json.dump(record, f)
    print("wrote", name)


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT_DIR, exist_ok=True)
    make("rnn_tanh", torch.nn.RNN, nonlinearity="tanh")
    make("rnn_relu", torch.nn.RNN, nonlinearity="relu")
    make("lstm_1layer", torch.nn.LSTM)
    make("lstm_2layer", torch.nn.LSTM, num_layers=2)
    make("gru", torch.nn.GRU)
