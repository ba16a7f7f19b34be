#!/usr/bin/env python3
"""PyTorch peer for W6, kensho's own workload (see BENCHMARKS.md): a Transformer encoder block on
token sequences, timed as ../shared/peers/bench.py times W5.

W6: token ids (vocab 10,000, length 64) -> Embedding 64 + learned position embedding ->
one encoder block (multi-head self-attention, 4 heads of 16, Add + LayerNorm, feed-forward
Dense 128 relu -> Dense 64, Add + LayerNorm; no dropout) -> mean over the sequence ->
Dense 1 sigmoid; binary cross-entropy, Adam lr 1e-3, batch 32, 1,600 samples (50 steps) after
5 warm-up steps. Data: the W5 tokens (numpy seed 42).

Usage: PEERS_THREADS=1 python scripts/bench_w6_torch.py   (prints one RESULT line)
"""
import os
import time

import numpy as np
import torch
from torch import nn

THREADS = int(os.environ.get("PEERS_THREADS", "1"))


def main():
    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(42)
    tokens = torch.from_numpy(rng.integers(0, 10000, size=(1600, 64)).astype(np.int64))
    labels = torch.from_numpy(rng.integers(0, 2, size=1600).astype(np.float32)).reshape(-1, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10000, 64)
            self.pos = nn.Parameter(torch.randn(64, 64) * 0.02)
            self.block = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)
            self.out = nn.Linear(64, 1)

        def forward(self, tok):
            h = self.block(self.emb(tok) + self.pos)
            return torch.sigmoid(self.out(h.mean(dim=1)))

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()

    def step(a):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(tokens[a:a + 32]), labels[a:a + 32])
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(5):
        step(i * 32)
    t0 = time.perf_counter()
    for a in range(0, 1600, 32):
        last = step(a)
    secs = time.perf_counter() - t0
    print(f"RESULT workload=W6 impl=torch threads={THREADS} train_samples_per_s={1600 / secs:.1f} "
          f"train_s={secs:.4f} steps=50 last_loss={last:.4f}", flush=True)


if __name__ == "__main__":
    main()
