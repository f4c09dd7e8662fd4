"""What ``torch.compile`` (``mura-train fit --compile``) buys on this machine.

Times, interleaved in one run, a training step (forward, backward, Adam) and an inference
forward of the same network eager and compiled (inductor), after printing how long the
compilation took. Measured to decide whether to make ``--compile`` the default.

    PYTHONPATH=. python bench/bench_compile.py [--arch densenet121] [--size 160] [--batch 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the entry points set it

import torch

from mura_desktop.inference.network import build_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="densenet121")
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.arch} {args.size} px, batch {args.batch}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size).contiguous(
        memory_format=torch.channels_last
    )
    steps = {}
    for name in ("eager", "compiled"):
        net = build_network(args.arch).to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
        model = torch.compile(net) if name == "compiled" else net

        def train_step(model=model, net=net, optimizer=optimizer) -> None:
            net.train()
            loss = model(x).float().sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        def forward(model=model, net=net) -> None:
            net.eval()
            with torch.no_grad():
                model(x)

        for kind, fn in (("train step", train_step), ("forward", forward)):
            start = time.perf_counter()
            fn()
            print(f"{name:8s} {kind:10s} first call {time.perf_counter() - start:6.1f} s")
            steps[(name, kind)] = fn
    times: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    for _ in range(args.repeats):
        for key, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    for kind in ("train step", "forward"):
        eager = statistics.median(times[("eager", kind)])
        compiled = statistics.median(times[("compiled", kind)])
        print(f"{kind:10s}: eager {eager * 1e3:6.0f} ms, compiled {compiled * 1e3:6.0f} ms, "
              f"speed-up {eager / compiled:.2f}x")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
