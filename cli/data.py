"""``crowdtrain data``: the example datasets, your own text as token shards, and a BPE tokenizer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from node.training.prepare import Source

app = typer.Typer(help="Datasets: examples, your own text, tokenizers.", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Tokenizers for `data prepare`.", no_args_is_help=True)
app.add_typer(tokenizer_app, name="tokenizer")


@app.command("prepare")
def prepare(
    arguments: list[str] | None = typer.Argument(
        None,
        metavar="NAME|FILE",
        help="Example dataset (digits | text), or after --text more text files.",
    ),
    text: list[Path] = typer.Option(
        [], "--text", help="UTF-8 text files, one document each: --text a.txt b.txt, or repeat."
    ),
    jsonl: Path | None = typer.Option(None, "--jsonl", help="JSON lines, one document per line."),
    field: str | None = typer.Option(None, "--field", help="The --jsonl field holding the text."),
    parquet: Path | None = typer.Option(None, "--parquet", help="A parquet file (needs pyarrow)."),
    column: str | None = typer.Option(None, "--column", help="The --parquet column of text."),
    tokenizer: str = typer.Option(
        "byte", "--tokenizer", help="byte, a tokenizer.json or a Hugging Face tokenizer folder."
    ),
    eos_token: str | None = typer.Option(None, help="The tokenizer's end-of-document token."),
    validation_fraction: float = typer.Option(0.01, help="Held-out share of the tokens (tail)."),
    shard_tokens: int = typer.Option(1 << 24, help="Tokens per shard blob.", min=1),
    dataset_name: str | None = typer.Option(None, "--name", help="Name in the manifest."),
    out: Path | None = typer.Option(None, "--out", help="Examples: also write the blob here."),
    blob_dir: Path | None = typer.Option(None, help="Blob folder (default: CROWDTRAIN_BLOB_DIR)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Build an example (NAME) or tokenize your text into shards; print the address a spec's
    `dataset.address` takes (format `tokens`/`classification` for examples, `token-shards` else)."""
    from node.config import load_settings
    from node.errors import DataError
    from node.storage import open_store

    name, text = _name_or_files(arguments or [], text)
    sources = _sources(text, jsonl, field, parquet, column)
    if (name is None) == (not sources):
        raise DataError("give either an example NAME (digits | text) or --text/--jsonl/--parquet")
    store = open_store(load_settings(blob_dir=blob_dir))
    if name is not None:
        from node.training.data import example_blob

        blob = example_blob(name)
        address = store.put(blob)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(blob)
        typer.echo(address)
        return
    from node.training.prepare import prepare_dataset
    from node.training.text_tokenizer import load_tokenizer

    result = prepare_dataset(
        sources,
        load_tokenizer(tokenizer, eos_token),
        store,
        name=dataset_name or sources[0].path.stem,
        validation_fraction=validation_fraction,
        shard_tokens=shard_tokens,
        progress=not quiet,
    )
    m = result.manifest
    rate = m.total_tokens / max(result.seconds, 1e-9)
    print(
        f"{m.documents} documents, {m.total_tokens} tokens ({m.dtype}, vocab {m.vocab_size}) "
        f"in {len(m.shards)} shards, {m.validation_tokens} held out; {rate:,.0f} tokens/s",
        file=sys.stderr,
    )
    typer.echo(result.address)


def _name_or_files(arguments: list[str], text: list[Path]) -> tuple[str | None, list[Path]]:
    """Split the positional arguments: with ``--text`` they are more text files, in order
    (``--text a.txt b.txt``; click gives an option one value and the rest as arguments), else at
    most one example NAME."""
    from node.errors import DataError
    from node.training.data import EXAMPLES

    if not text:
        if len(arguments) > 1:
            raise DataError(
                f"one example NAME (digits | text), got {' '.join(arguments)}: "
                "text files go after --text"
            )
        return (arguments[0] if arguments else None), []
    for argument in arguments:
        if argument in EXAMPLES and not Path(argument).exists():
            raise DataError(
                "give either an example NAME (digits | text) or --text/--jsonl/--parquet"
            )
    return None, _text_files(text, [Path(a) for a in arguments])


def _text_files(text: list[Path], more: list[Path]) -> list[Path]:
    """``--text a b c`` (click gives the option ``a``, the rest as arguments) or ``--text a
    --text b``: the files in the order given; both forms at once would make the order a guess."""
    from node.errors import DataError

    if more and len(text) > 1:
        raise DataError(
            "list the text files after one --text (--text a.txt b.txt) or repeat --text before "
            "each, not both: their order would be ambiguous"
        )
    return [*text, *more]


def _sources(
    text: list[Path],
    jsonl: Path | None,
    field: str | None,
    parquet: Path | None,
    column: str | None,
) -> list[Source]:
    from node.errors import DataError
    from node.training.prepare import Source

    if (jsonl is None) != (field is None):
        raise DataError("--jsonl and --field go together")
    if (parquet is None) != (column is None):
        raise DataError("--parquet and --column go together")
    sources = [Source("text", p) for p in text]
    if jsonl is not None:
        sources.append(Source("jsonl", jsonl, field))
    if parquet is not None:
        sources.append(Source("parquet", parquet, column))
    return sources


@tokenizer_app.command("train")
def tokenizer_train(
    more: list[Path] | None = typer.Argument(None, metavar="FILE", help="More text files."),
    text: list[Path] = typer.Option(
        ..., "--text", help="Training text files: --text a.txt b.txt, or repeat."
    ),
    vocab_size: int = typer.Option(8192, "--vocab-size", help="Vocabulary size (>= 257)."),
    out: Path = typer.Option(..., "--out", help="Where to write tokenizer.json."),
    eos_token: str = typer.Option("<|endoftext|>", help="The end-of-document special token."),
) -> None:
    """Train a byte-level BPE tokenizer on your text (for `data prepare --tokenizer OUT`)."""
    from node.training.text_tokenizer import train_bpe

    size = train_bpe(_text_files(text, more or []), vocab_size, out, eos_token)
    typer.echo(f"{out} (vocabulary {size})")
