"""`script.py [config.yaml] [--key value ...]`: YAML gives the defaults, flags override them."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser


def parse_config(dataclass_types: tuple[type, ...], argv: list[str]) -> tuple[Any, ...]:
    parser = HfArgumentParser(dataclass_types)
    if argv and argv[0].endswith((".yaml", ".yml")):
        config = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8")) or {}
        known = {f.name for dtype in parser.dataclass_types for f in fields(dtype)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown keys in {argv[0]}: {unknown}")
        # argparse type-converts string defaults, so YAML values such as "5e-4" still become floats.
        parser.set_defaults(**config)
        argv = argv[1:]
    parsed = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    return tuple(parsed)
