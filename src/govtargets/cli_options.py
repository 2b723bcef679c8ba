"""Command-line options shared by the CLI modules (cli, cli_review), so each is defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from govtargets.pipeline import BACKENDS

BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", "-b", help=f"Tagger: {' | '.join(BACKENDS)}. Default: model if one ships or a --model "
                 "(or an ONNX --runtime, where offered) is given, else rules."),
]
ModelOpt = Annotated[
    Path | None, typer.Option("--model", "-m", help="Model folder (default: models/govtargets-small).")
]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", help="CPU threads for the model: its batches run side by side, one thread each "
    "(default: every available core).")]
