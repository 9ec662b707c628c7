"""PyTorch eager baseline for bias-only BPTT (same model as biaslearn's RNN).

r[t+1] = (1 - alpha) r[t] + alpha tanh(W r[t] + B x[t] + b),  y[t+1] = A r[t+1] + c
W [m,m] ~ N(0, g^2/m), B [m,I], A [O,m] frozen buffers; learned: b and c (Adam). Loss: MSE over
all T outputs. Input-driven: x [batch, T, I] random. One optimizer step per batch of sequences
(exact BPTT through autograd). Timed with CUDA events after a warm-up. Prints JSON lines.

Usage: python3 bench/torch_rnn_bias.py --hidden 1024,4096 --T 100 --batch 64 --seconds 3
"""
import argparse
import json
import time

import torch


def run(m, T, batch, seconds, I=2, O=2, alpha=1.0, g=1.5, full=False):
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    W = torch.randn(m, m, device=dev, generator=gen) * (g / m ** 0.5)
    Bw = (torch.rand(m, I, device=dev, generator=gen) * 2 - 1) * (3 / I) ** 0.5
    A = (torch.rand(O, m, device=dev, generator=gen) * 2 - 1) * (3 / m) ** 0.5
    b = torch.zeros(m, device=dev)
    c = torch.zeros(O, device=dev)
    params = [b, c] + ([W, Bw, A] if full else [])
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=1e-3 if full else 1e-2)
    x = torch.randn(batch, T, I, device=dev, generator=gen)
    y = torch.randn(batch, T, O, device=dev, generator=gen)

    def step():
        r = torch.zeros(batch, m, device=dev)
        u = x @ Bw.T  # input projection for all steps: [batch, T, m]
        outs = []
        for t in range(T):
            r = (1 - alpha) * r + alpha * torch.tanh(r @ W.T + u[:, t] + b)
            outs.append(r @ A.T + c)
        loss = torch.mean((torch.stack(outs, 1) - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    steps = 0
    t0 = time.perf_counter()
    s.record()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    e.record()
    torch.cuda.synchronize()
    secs = s.elapsed_time(e) / 1000
    return {"hidden": m, "T": T, "batch": batch, "mode": "full" if full else "bias", "stepsPerSec": steps / secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="1024,4096")
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    print(json.dumps({"info": {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "tf32": False}}), flush=True)
    for m in map(int, args.hidden.split(",")):
        print(json.dumps(run(m, args.T, args.batch, args.seconds)), flush=True)
        print(json.dumps(run(m, args.T, args.batch, args.seconds, full=True)), flush=True)


if __name__ == "__main__":
    main()
