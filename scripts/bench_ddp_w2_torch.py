"""PyTorch DistributedDataParallel (gloo) beside kensho's `bench_mpi` (issue 18): the W2 MLP
(784-256-128-10, Adam 1e-3) on 60,000 synthetic samples at a global batch of 512, split evenly
across the ranks, one thread per rank. Each repetition is one shuffled epoch on a fresh model
after 5 warm-up steps; rank 0 prints the median samples/s of the repetitions as JSON.

    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 2 scripts/bench_ddp_w2_torch.py
    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 1 scripts/bench_ddp_w2_torch.py
"""
import json
import os
import time

import numpy as np
import torch
import torch.distributed as dist

SAMPLES, BATCH, REPS = 60_000, 512, int(os.environ.get("REPS", "3"))


def fresh_model(world):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)]
    model = torch.nn.Sequential(*layers)
    return torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model


def run_epoch(model, optimizer, x, y, order, rank, world):
    share = BATCH // world
    for start in range(0, len(order), BATCH):
        batch = order[start:start + BATCH]
        mine = batch[rank * len(batch) // world:(rank + 1) * len(batch) // world]
        optimizer.zero_grad()
        # Each rank's loss is the mean over its rows; DDP averages the gradients across ranks.
        loss = torch.nn.functional.cross_entropy(model(x[mine]), y[mine])
        loss.backward()
        optimizer.step()
    return share


def main():
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(42)
    x = torch.tensor(rng.random((SAMPLES, 784), dtype=np.float32))
    y = torch.tensor(rng.integers(0, 10, SAMPLES))
    rates = []
    for rep in range(REPS):
        model = fresh_model(world)
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        run_epoch(model, optimizer, x, y, torch.arange(5 * BATCH), rank, world)
        order = torch.tensor(np.random.default_rng(rep).permutation(SAMPLES))
        dist.barrier()
        start = time.perf_counter()
        run_epoch(model, optimizer, x, y, order, rank, world)
        dist.barrier()
        rates.append(SAMPLES / (time.perf_counter() - start))
    if rank == 0:
        print(json.dumps({"workload": "D", "peer": "pytorch-ddp-gloo", "ranks": world, "global_batch": BATCH,
                          "figure": "train_samples_per_s", "value": round(sorted(rates)[len(rates) // 2], 1),
                          "reps": [round(r, 1) for r in rates], "torch": torch.__version__}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
