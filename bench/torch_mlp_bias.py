"""PyTorch eager baseline for the bias-only MLP train step (same model as biaslearn's).

784 -> H -> 10, relu, every weight a frozen buffer, Adam on the two bias vectors, softmax
cross-entropy, data resident on the GPU, batches gathered by a random permutation. Prints one
JSON object per (width, batch, precision) to stdout. Timed with CUDA events after a warm-up; no
.item() inside the timed loop (the loss stays on the device), which is the fastest eager loop.
Precisions: fp32 (TF32 off) and bf16 = the same fp32 model under torch.autocast(dtype=torch.bfloat16)
(issue 15's baseline for biaslearn's weightPrecision 'bf16'). --device cpu runs the same code on
the CPU (wall-clock timing), to check the script without a GPU.

Usage: python3 bench/torch_mlp_bias.py --widths 1024,4096,16384,65536 --batches 256,1024,4096 --seconds 2
       [--precisions fp32,bf16] [--device cuda|cpu] [--no-full]
"""
import contextlib
import argparse
import json
import time

import torch
import torch.nn.functional as F


def run(width, batch, seconds, train_full=False, precision="fp32", device="cuda"):
    dev = torch.device(device)
    cast = (torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if precision == "bf16"
            else contextlib.nullcontext())
    g = torch.Generator(device=dev).manual_seed(0)
    I, O = 784, 10
    n = batch * 16
    x = torch.rand(n, I, device=dev, generator=g)
    y = torch.randint(0, O, (n,), device=dev, generator=g)
    a1, a2 = (6.0 / I) ** 0.5, 30.0 / width ** 0.5
    w1 = (torch.rand(width, I, device=dev, generator=g) * 2 - 1) * a1
    w2 = (torch.rand(O, width, device=dev, generator=g) * 2 - 1) * a2
    b1 = torch.zeros(width, device=dev)
    b2 = torch.zeros(O, device=dev)
    params = [b1, b2]
    if train_full:
        params += [w1, w2]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=1e-3 if train_full else 5e-2)

    def epoch():
        perm = torch.randperm(n, device=dev, generator=g)
        for k in range(0, n, batch):
            idx = perm[k:k + batch]
            with cast:
                h = F.relu(F.linear(x[idx], w1, b1))
                loss = F.cross_entropy(F.linear(h, w2, b2), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss

    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    epoch()
    sync()
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = 0
    t0 = time.perf_counter()
    if cuda:
        start.record()
    while time.perf_counter() - t0 < seconds:
        epoch()
        samples += n
    if cuda:
        end.record()
    sync()
    secs = start.elapsed_time(end) / 1000 if cuda else time.perf_counter() - t0
    return {"width": width, "batch": batch, "mode": "full" if train_full else "bias", "precision": precision,
            "samplesPerSec": samples / secs}


def sgemm_gflops(M, N, K, reps=20, device="cuda"):
    if device != "cuda":
        return None
    a = torch.rand(M, K, device="cuda")
    b = torch.rand(N, K, device="cuda")
    for _ in range(3):
        a @ b.T
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(reps):
        a @ b.T
    e.record()
    torch.cuda.synchronize()
    return 2 * M * N * K * reps / (s.elapsed_time(e) / 1000) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="1024,4096,16384,65536")
    ap.add_argument("--batches", default="256,1024,4096")
    ap.add_argument("--full-batch", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--precisions", default="fp32")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--no-full", action="store_true", help="skip the full-training rows")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = args.device
    info = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
            "tf32": False, "torchSgemmGflops_1024x16384x784": sgemm_gflops(1024, 16384, 784, device=dev)}
    print(json.dumps({"info": info}), flush=True)
    precisions = args.precisions.split(",")
    for w in map(int, args.widths.split(",")):
        for b in map(int, args.batches.split(",")):
            for p in precisions:
                print(json.dumps(run(w, b, args.seconds, precision=p, device=dev)), flush=True)
        if not args.no_full:
            print(json.dumps(run(w, args.full_batch, args.seconds, train_full=True, device=dev)), flush=True)


if __name__ == "__main__":
    main()
