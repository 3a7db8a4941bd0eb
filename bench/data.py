"""``crowdtrain bench data``: ``data prepare`` throughput and the training loader's peak memory.

A synthetic corpus of ``base_mb`` MB (seeded random words, one document per line group) is
prepared with the byte tokenizer, then a corpus 10x larger. For each, a fresh process opens the
``token-shards`` dataset the way ``train`` does and reads one window (``loader_one_window_*``: the
shards a read touches are the only ones checked), then draws ``batches`` training batches plus the
validation windows; it reports its peak traced allocations (``tracemalloc``: numpy and Python
buffers) and its peak RSS growth over the imports. Both stay flat from 1x to 10x because windows
are read by byte range: memory follows the batch, not the dataset (``whole_int64_mb`` is what
loading the stream into memory would take). Last, the base corpus is prepared with the byte
tokenizer and with a BPE tokenizer trained on it (``prepare_base``), ``repeats`` times each,
alternating, and the median MB/s of each is reported (the box may be shared: medians, not bests).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from node.storage import LocalBlobStore
from node.training.prepare import DEFAULT_SHARD_TOKENS, Source, prepare_dataset
from node.training.text_tokenizer import byte_tokenizer, load_tokenizer, train_bpe

_WORDS = [
    "the",
    "river",
    "mill",
    "grain",
    "ship",
    "harbour",
    "dawn",
    "gull",
    "sea",
    "wind",
    "stone",
    "bread",
    "market",
    "road",
    "lamp",
    "night",
    "winter",
    "garden",
    "letter",
    "window",
    "bridge",
    "forest",
    "village",
    "tower",
    "bell",
    "horse",
    "wheel",
    "salt",
    "copper",
]

_PROBE = r"""
import json, resource, sys, tracemalloc
from node.storage import LocalBlobStore
from node.training.data import load_dataset
from node.training.spec import parse_spec
from node.runtime.rng import RngKey

def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0

blobs, address, batches, block = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = parse_spec({
    "model": {"architecture": "gpt", "vocab_size": 257, "block_size": block},
    "dataset": {"address": address, "format": "token-shards"},
    "optimizer": {"name": "adamw", "lr": 0.001}, "batch_size": 16, "steps": 2,
    "checkpoint_every": 2,
})
store = LocalBlobStore(blobs)
base = rss_kb("VmRSS:")
tracemalloc.start()
import time
started = time.perf_counter()
one = load_dataset(spec, store)
one.reader.read(one.train_tokens // 2, block + 1)
one_window_s, one_window_hashed = time.perf_counter() - started, one.reader.hashed_bytes
started = time.perf_counter()
data = load_dataset(spec, store)
opened = time.perf_counter() - started
key = RngKey.from_seed(0)
for cursor in range(batches):
    data.batch(key, 0, cursor, 16)
n = sum(x.shape[0] for x, _ in data.validation_batches(16))
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({"traced_peak_mb": peak / 2**20, "rss_growth_mb": (rss_kb("VmHWM:") - base) / 1024,
                  "open_s": opened, "validation_windows": n, "one_window_s": one_window_s,
                  "one_window_hashed_mb": one_window_hashed / 2**20,
                  "hashed_mb": data.reader.hashed_bytes / 2**20}))
"""


def _corpus(path: Path, size: int, seed: int) -> None:
    """``size`` bytes of seeded random words, a blank line every ~40 lines."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        while written < size:
            line = " ".join(rng.choice(_WORDS) for _ in range(12)) + ".\n"
            handle.write(line)
            written += len(line)


def _probe(blobs: Path, address: str, batches: int, block: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(blobs), address, str(batches), str(block)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_data_bench(
    *,
    base_mb: float = 8.0,
    factor: int = 10,
    batches: int = 200,
    block: int = 256,
    repeats: int = 3,
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
) -> dict[str, object]:
    """Prepare MB/s and loader peak memory for a ``base_mb`` corpus and one ``factor``x larger."""
    report: dict[str, object] = {
        "tokenizer": "byte (prepare_base: byte and BPE 4096)",
        "batch": f"16 x {block}",
    }
    with tempfile.TemporaryDirectory(prefix="crowdtrain-bench-data-") as tmp:
        root = Path(tmp)
        for label, scale in (("base", 1), (f"x{factor}", factor)):
            folder = root / label
            folder.mkdir()
            files = []
            for i in range(scale):
                path = folder / f"part{i:03d}.txt"
                _corpus(path, int(base_mb * 2**20), seed=i)
                files.append(path)
            store = LocalBlobStore(folder / "blobs")
            prepared = prepare_dataset(
                [Source("text", p) for p in files],
                byte_tokenizer(),
                store,
                name=label,
                progress=False,
                shard_tokens=shard_tokens,
            )
            probe = _probe(store.root, prepared.address, batches, block)
            m = prepared.manifest
            report[label] = {
                "text_mb": round(prepared.bytes_in / 2**20, 1),
                "tokens": m.total_tokens,
                "shards": len(m.shards),
                "prepare_mb_per_s": round(prepared.bytes_in / 2**20 / prepared.seconds, 1),
                "prepare_tokens_per_s": round(m.total_tokens / prepared.seconds),
                "loader_open_s": round(probe["open_s"], 3),
                "loader_one_window_s": round(probe["one_window_s"], 3),
                "loader_one_window_hashed_mb": round(probe["one_window_hashed_mb"], 1),
                "loader_hashed_mb": round(probe["hashed_mb"], 1),
                "loader_traced_peak_mb": round(probe["traced_peak_mb"], 1),
                "loader_rss_growth_mb": round(probe["rss_growth_mb"], 1),
                "whole_int64_mb": round(m.total_tokens * 8 / 2**20, 1),
            }
        report["prepare_base"] = _prepare_both(root, repeats)
    return report


def _prepare_both(root: Path, repeats: int) -> dict[str, object]:
    """``data prepare`` of the base corpus with the byte tokenizer and with a byte-level BPE
    tokenizer (vocabulary 4096) trained on it, ``repeats`` times each, alternating: median MB/s
    (the byte tokenizer's is an upper bound, BPE's the throughput a real tokenizer gives)."""
    corpus = sorted((root / "base").glob("part*.txt"))
    tokenizer_path = root / "bpe" / "tokenizer.json"
    train_bpe(corpus, 4096, tokenizer_path)
    tokenizers = {"byte": byte_tokenizer(), "bpe": load_tokenizer(str(tokenizer_path))}
    rates: dict[str, list[float]] = {name: [] for name in tokenizers}
    out: dict[str, object] = {}
    for run in range(repeats):
        for name, tokenizer in tokenizers.items():
            prepared = prepare_dataset(
                [Source("text", p) for p in corpus],
                tokenizer,
                LocalBlobStore(root / "prep" / f"{name}{run}"),
                name=name,
                progress=False,
            )
            rates[name].append(prepared.bytes_in / 2**20 / prepared.seconds)
            out[name] = {
                "text_mb": round(prepared.bytes_in / 2**20, 1),
                "tokens": prepared.manifest.total_tokens,
                "address": prepared.address,
            }
    for name, values in rates.items():
        entry: dict[str, object] = out[name]  # type: ignore[assignment]
        entry["prepare_mb_per_s_median"] = round(statistics.median(values), 1)
        entry["prepare_mb_per_s_runs"] = [round(v, 1) for v in values]
    return out
