#!/usr/bin/python3
"""examples/char_lm in PyTorch: the same model, data streams and settings.

  torch_char_lm.py --data data/moby_dick.txt --updates 300 --threads 2
                   [--eval-at 638,1050] [--minutes 0] [--valid-streams 1]

nn.Embedding(V, 64) -> nn.LSTM(64, 256) -> nn.Linear(256, V); Adam 2e-3, global-norm
clipping 5; the first 90% of the text as `batch` contiguous streams, `seq` characters per
update with the state carried across updates (detached); the last 10% scored as one stream.
Prints one JSON object: updates, train_seconds (evaluation excluded), chars_per_s, and the
validation curve [[update, train_seconds, valid_bpc], ...].
"""
import argparse
import json
import math
import time

import torch


def load(path, valid_fraction):
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))  # code point order, as tapegrad's CharVocab
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(len(ids) * (1 - valid_fraction))
    return len(chars), ids[:split], ids[split:]


class CharModel(torch.nn.Module):
    def __init__(self, vocab, embedding, hidden, cell):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embedding)
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.rnn = module(embedding, hidden)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, ids, state):
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out.reshape(-1, out.shape[-1])), state


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def bits_per_char(model, ids, streams, seq):
    length = (len(ids) - 1) // streams
    data = ids[: streams * length + 1]
    inputs = data[:-1].view(streams, length).t()
    targets = data[1:].view(streams, length).t()
    state, total = None, 0.0
    for begin in range(0, length, seq):
        x, y = inputs[begin:begin + seq], targets[begin:begin + seq]
        logits, state = model(x, state)
        total += torch.nn.functional.cross_entropy(logits, y.reshape(-1), reduction="sum").item()
    return total / (length * streams) / math.log(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/moby_dick.txt")
    ap.add_argument("--cell", default="lstm", choices=("lstm", "gru", "rnn"))
    ap.add_argument("--embedding", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--updates", type=int, default=300)
    ap.add_argument("--minutes", type=float, default=0, help="time budget (0: none)")
    ap.add_argument("--eval-at", default="", help="update counts to score validation at")
    ap.add_argument("--valid-streams", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab, train, valid = load(args.data, 0.1)
    model = CharModel(vocab, args.embedding, args.hidden, args.cell)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    length = (len(train) - 1) // args.batch
    streams_in = train[: args.batch * length].view(args.batch, length).t()
    streams_out = train[1: args.batch * length + 1].view(args.batch, length).t()
    chunks = length // args.seq
    eval_at = {int(s) for s in args.eval_at.split(",") if s}

    state, seconds, curve, update = None, 0.0, [], 0
    while update < args.updates and (args.minutes <= 0 or seconds < args.minutes * 60):
        start = time.perf_counter()
        k = update % chunks
        if k == 0:
            state = None
        x = streams_in[k * args.seq:(k + 1) * args.seq]
        y = streams_out[k * args.seq:(k + 1) * args.seq]
        logits, state = model(x, detach(state))
        loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        loss_value = loss.item()
        seconds += time.perf_counter() - start
        update += 1
        if update in eval_at:
            bpc = bits_per_char(model, valid, args.valid_streams, args.seq)
            curve.append([update, seconds, bpc])
            print("update %d  train %.3f  validation %.3f bits/char  (%.0f s)"
                  % (update, loss_value / math.log(2), bpc, seconds), flush=True)
    print(json.dumps({"updates": update, "train_seconds": seconds,
                      "chars_per_s": update * args.seq * args.batch / seconds,
                      "curve": curve, "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
