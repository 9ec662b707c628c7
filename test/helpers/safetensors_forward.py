"""Independent reader for the export tests: parses a safetensors file with the standard library and
numpy only (8-byte header length, JSON header, raw little-endian data), rebuilds the MLP as
nn.Sequential would (layer l = '{2l}.weight' [out, in], '{2l}.bias'), runs it on x.npy and writes
the logits to out.npy.  Usage: safetensors_forward.py model.safetensors x.npy activation out.npy"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        assert e['dtype'] == 'F32', e['dtype']
        b, end = e['data_offsets']
        out[name] = np.frombuffer(raw[base + b:base + end], dtype='<f4').reshape(e['shape'])
    return out, header.get('__metadata__', {})


ACT = {
    'relu': lambda z: np.maximum(z, 0),
    'tanh': np.tanh,
    'tanh-rational': np.tanh,
    'sigmoid': lambda z: 1 / (1 + np.exp(-z)),
    'hard-sigmoid': lambda z: np.clip(z, 0, 1),
    'softplus': lambda z: np.logaddexp(0, z),
    'leaky-relu': lambda z: np.where(z > 0, z, 0.01 * z),
    'identity': lambda z: z,
}


def main():
    path, x_path, act, out_path = sys.argv[1:5]
    t, meta = read_safetensors(path)
    assert meta.get('format') == 'biaslearn' and meta.get('kind') == 'mlp', meta
    h = np.load(x_path).astype(np.float64)
    L = len([k for k in t if k.endswith('.weight')])
    for l in range(L):
        h = h @ t[f'{2 * l}.weight'].astype(np.float64).T + t[f'{2 * l}.bias']
        if l < L - 1:
            h = ACT[act](h)
    np.save(out_path, h.astype(np.float32))


main()
