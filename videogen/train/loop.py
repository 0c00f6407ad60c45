"""What every training run shares: resumable checkpoints, seeding, and a loss/throughput log."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from postprocess.files import atomic_path
from videogen.errors import UsageError

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int, ema: torch.nn.Module | None = None) -> None:
    """Model, EMA, optimizer and step in one file, replaced atomically so a kill never corrupts it."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "config": dict(model.config)}
    if ema is not None:
        state["ema"] = ema.state_dict()
    with atomic_path(folder / CHECKPOINT) as temporary:
        torch.save(state, temporary)


def read_checkpoint(folder: Path) -> dict | None:
    """A run folder's checkpoint (model, EMA, optimizer, step, config), or None for a folder with none."""
    path = folder / CHECKPOINT
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def restore(state: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer, ema: torch.nn.Module) -> int:
    """Load a checkpoint's weights into a model of its config, its optimizer and its EMA; returns its step."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    ema.load_state_dict(state.get("ema", state["model"]))
    return state["step"]


def _plain(value):
    """Config values compare alike whether they came from a constructor (tuples) or a JSON file (lists)."""
    return list(value) if isinstance(value, (list, tuple)) else value


@dataclass
class Run:
    """A training run's state: its folder, device, model, EMA copy, optimizer and the step it is at."""

    folder: Path
    device: str
    model: torch.nn.Module
    ema: torch.nn.Module
    optimizer: torch.optim.Optimizer
    step: int


def start_run(out: str, model_class: type, build_model: Callable[[], torch.nn.Module], lr: float, weight_decay: float,
              seed: int, asked: dict | None = None, check: Callable[[torch.nn.Module], None] | None = None) -> Run:
    """Build the model on CUDA if present (else CPU), with AdamW and an EMA copy. A folder with a checkpoint resumes
    its run as a `model_class` of the checkpoint's config, so a run keeps its architecture without its flags; `asked`
    (config values this call names; None: not named) must agree with that config, and `check` (raising UsageError)
    vets the model the run would train before its folder is made."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    folder = Path(out)
    torch.manual_seed(seed)
    state = read_checkpoint(folder)  # read once: its config builds the model, its weights then fill it
    model = model_class.from_config(state["config"]) if state else build_model()  # a newer setting takes its default
    if state:
        require_asked_config(folder / CHECKPOINT, model.config, asked or {})
    if check:
        check(model)
    model = model.to(device).train()
    folder.mkdir(parents=True, exist_ok=True)  # after building, so a model that cannot be built leaves no folder
    ema = copy.deepcopy(model).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step = restore(state, model, optimizer, ema) if state else 0
    if step:  # so a repeated command that names another start (--init) is not taken for a new run
        print(f"{folder / CHECKPOINT}: resuming at step {step}, with its weights, optimizer and architecture")
    return Run(folder, device, model, ema, optimizer, step)


def require_asked_config(path: Path, config, asked: dict) -> None:
    """One error line naming the checkpoint and each setting where `asked` differs from the run's saved `config`."""
    different = {key: (_plain(config[key]), _plain(value)) for key, value in asked.items()
                 if value is not None and _plain(config[key]) != _plain(value)}
    if different:  # load_state_dict would fail with a page of tensor shapes
        settings = ", ".join(f"{key} {saved} (asked: {given})" for key, (saved, given) in different.items())
        raise UsageError(f"{path}: this run was started with {settings}; resume it with those settings or use a new folder")


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Exponential moving average of the weights (Polyak averaging), what inference uses."""
    for averaged, current in zip(ema.parameters(), model.parameters()):
        averaged.lerp_(current, 1 - decay)


class TrainLog:
    """Appends one JSON line per logged step (loss, items per second) to log.jsonl and prints it."""

    def __init__(self, folder: Path, items_name: str):
        self.path = folder / "log.jsonl"
        self.items_name = items_name
        self.started, self.items, self.losses = time.perf_counter(), 0, []

    def add(self, loss: float, items: int) -> None:
        self.losses.append(loss)
        self.items += items

    def flush(self, step: int, **extra) -> None:
        elapsed = time.perf_counter() - self.started
        record = {"step": step, "loss": sum(self.losses) / max(len(self.losses), 1), f"{self.items_name}_per_s": self.items / elapsed, **extra}
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        print(" ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}" for key, value in record.items()), flush=True)
        self.started, self.items, self.losses = time.perf_counter(), 0, []
