"""Extrapolation tasks: fit-small / predict-large splits of real and simulated scaling data.

Each loader returns a :class:`Task`: the training and held-out rows as ``models.ScalingData``,
the family and pooling bayescale fits, and the inputs the baselines get (Approach 3 takes every
resource the family uses, M2 and BNSL one). The splits (also in BENCHMARKS.md):

* ``epoch_chinchilla`` — Chinchilla Fig. 4 as digitised by Epoch, the 5 highest-loss points
  dropped, D = C / (6N); fit C <= 1e21, predict C > 1e21. One group; ``chinchilla``.
* ``porian_rsld`` — Porian et al. 2024 IsoFLOP points; a group per recipe (source file, dataset,
  hparams, warmup, decay, parameter count, train/val loss: 15 recipes); fit budgets
  C <= 1e18 (1.25e16-8e17), predict 1.6e18-2.56e19. ``chinchilla`` on (N, D), every parameter
  partially pooled across recipes.
* ``misfitting_li2025`` — Li et al. 2025; fit every checkpoint (every lr, every schedule) of
  the models <= 100M (12m-100m), predict the final checkpoints of the 200M-1B models
  (``scaling_results_last_ckpt_only.csv``). N = ``N`` (with embeddings), D = tokens seen.
  One group; ``chinchilla``.
* ``bnsl_4digit_addition`` — the paper's split: fit the 14 ``fit`` rows (x <= 736), predict
  the 3 ``extrapolate`` rows. ``broken_power_law`` (1 break) on data.
* ``nslpfn_nanogpt_width`` — NSL-PFN's split: the ``final_val_loss`` curves of 12 hyperparameter
  settings (groups), fit widths 6-192, predict width 384. ``power_law`` on params, partially
  pooled across settings.
* ``sim_double_descent`` — ``models.simulate`` of ``double_descent`` (power-law base, model-wise,
  D = 500, peak at N = κD = 500), 60 widths 20-20,000, 2 % log-normal noise; fit N <= 2,000,
  predict N > 2,000.
* ``sim_scale_time`` — ``models.simulate`` of ``scale_time`` (two feature groups), 5 sizes
  1e5-1e9 x 20 times 0.1-1,000, 2 % noise; fit N <= 1e7, predict N = 1e8, 1e9 at every time.
  M2 and BNSL get N x t (a compute proxy) as their one input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import models
from models.data import ScalingData
from models.simulate import simulate


@dataclass(frozen=True)
class Task:
    """One extrapolation task: the split, bayescale's model and the baselines' inputs."""

    name: str
    split: str
    train: ScalingData
    test: ScalingData
    family: str
    family_options: dict[str, str] = field(default_factory=dict)
    pooling: str | None = None
    approach3_inputs: tuple[str, ...] = ("params", "data")
    single_input: str = "compute"
    plot_x: str = "compute"
    simulated: bool = False
    source: str = ""
    sampler_seed: int = 1


def _split(data: ScalingData, train: np.ndarray) -> tuple[ScalingData, ScalingData]:
    return data.subset(train), data.subset(~train)


def epoch_chinchilla(data_dir: Path) -> Task:
    """Chinchilla Fig. 4 (Epoch's digitisation): fit C <= 1e21, predict above."""
    path = data_dir / "epoch_chinchilla" / "svg_extracted_data.csv"
    frame = pd.read_csv(path)
    frame = frame.drop(index=frame["loss"].nlargest(5).index).reset_index(drop=True)
    data = ScalingData.from_frame(
        frame, {"params": "Model Size", "compute": "Training FLOP"}, flops_per_param_token=6
    )
    train, test = _split(data, data.inputs["compute"] <= 1e21)
    return Task(
        "epoch_chinchilla",
        "fit C <= 1e21, predict C > 1e21 (5 highest-loss points dropped, D = C/6N)",
        train,
        test,
        "chinchilla",
        source=str(path),
    )


PORIAN_RECIPE = ("source_file", "dataset", "hparams", "warmup", "decay", "param_count", "val")


def porian_rsld(data_dir: Path, recipes: int | None = None) -> Task:
    """Porian et al. IsoFLOP points, a group per recipe: fit C <= 1e18, predict the larger."""
    path = data_dir / "porian_rsld" / "isoflop_points.csv"
    frame = pd.read_csv(path)
    frame["recipe"] = frame[list(PORIAN_RECIPE)].astype(str).agg("/".join, axis=1)
    if recipes is not None:
        keep = sorted(frame["recipe"].unique())[:recipes]
        frame = frame[frame["recipe"].isin(keep)].reset_index(drop=True)
    data = ScalingData.from_frame(
        frame,
        {"params": "n_params", "data": "tokens", "compute": "flops"},
        group_col="recipe",
    )
    train, test = _split(data, data.inputs["compute"] <= 1e18)
    return Task(
        "porian_rsld",
        "per recipe, fit budgets C <= 1e18, predict 1.6e18-2.56e19; recipes pooled",
        train,
        test,
        "chinchilla",
        pooling="partial",
        source=str(path),
    )


def misfitting_li2025(data_dir: Path) -> Task:
    """Li et al. 2025: fit all checkpoints of models <= 100M, predict final losses of 200M-1B."""
    folder = data_dir / "misfitting_li2025"
    small_names = {f"misfitting_{s}m" for s in (12, 17, 25, 35, 50, 70, 100)}
    large_names = {"misfitting_200m", "misfitting_300m", "misfitting_400m", "misfitting_1b"}
    checkpoints = pd.read_csv(folder / "scaling_results.csv")
    finals = pd.read_csv(folder / "scaling_results_last_ckpt_only.csv")
    mapping = {"params": "N", "data": "D", "compute": "C"}
    train = ScalingData.from_frame(
        checkpoints[checkpoints["model"].isin(small_names)].reset_index(drop=True), mapping
    )
    test = ScalingData.from_frame(
        finals[finals["model"].isin(large_names)].reset_index(drop=True), mapping
    )
    return Task(
        "misfitting_li2025",
        "fit every checkpoint of the 12M-100M models, predict the final losses of 200M-1B",
        train,
        test,
        "chinchilla",
        source=str(folder),
    )


def bnsl_4digit_addition(data_dir: Path) -> Task:
    """BNSL Fig. 4 (left): the paper's 14 fit rows and 3 extrapolation rows."""
    path = data_dir / "bnsl_4digit_addition" / "4_digit_addition_test_ce_vs_dataset_size.csv"
    frame = pd.read_csv(path)
    mapping = {"data": "train_dataset_size", "loss": "test_cross_entropy"}
    train, test = (
        ScalingData.from_frame(frame[frame["split"] == s].drop(columns="split"), mapping)
        for s in ("fit", "extrapolate")
    )
    return Task(
        "bnsl_4digit_addition",
        "the paper's split: fit 14 points (x <= 736), predict 3 (x = 800-928)",
        train,
        test,
        "broken_power_law",
        {"x": "data", "breaks": "1"},
        approach3_inputs=("data",),
        single_input="data",
        plot_x="data",
        source=str(path),
    )


def nslpfn_nanogpt_width(data_dir: Path) -> Task:
    """NSL-PFN nanoGPT width sweeps: fit widths 6-192 per setting, predict width 384."""
    path = data_dir / "nslpfn_nanogpt_width" / "nanogpt_val_loss_over_n_embd.csv"
    frame = pd.read_csv(path)
    frame = frame[frame["source_file"].str.startswith("final")].reset_index(drop=True)
    frame["setting"] = "hp" + frame["hyperparam_setting_index"].astype(str).str.zfill(2)
    data = ScalingData.from_frame(
        frame, {"params": "n_embd", "loss": "val_loss"}, group_col="setting"
    )
    train, test = _split(data, data.inputs["params"] <= 192)
    return Task(
        "nslpfn_nanogpt_width",
        "the paper's split: 12 settings (final_val_loss), fit widths 6-192, predict 384",
        train,
        test,
        "power_law",
        {"x": "params"},
        pooling="partial",
        approach3_inputs=("params",),
        single_input="params",
        plot_x="params",
        source=str(path),
    )


DD_TRUTH = {"E": 0.3, "A": 20.0, "alpha": 0.5, "kappa": 1.0, "h0": 1.5, "w": 0.3}
DD_OPTIONS = {"base": "power_law", "axis": "params", "noise": "none"}


def sim_double_descent(data_dir: Path, seed: int = 11) -> Task:
    """Double descent at N = D: fit N <= 2,000 (through the peak), predict larger N."""
    n = np.geomspace(20.0, 20000.0, 60)
    fam = models.get_family("double_descent", **DD_OPTIONS)
    inputs = {"params": n, "data": np.full(n.size, 500.0)}
    data = simulate(fam, DD_TRUTH, inputs, noise=0.02, seed=seed)
    train, test = _split(data, data.inputs["params"] <= 2000)
    return Task(
        "sim_double_descent",
        "simulated double_descent (peak at N = D = 500), fit N <= 2,000, predict N > 2,000",
        train,
        test,
        "double_descent",
        dict(DD_OPTIONS),
        approach3_inputs=("params",),
        single_input="params",
        plot_x="params",
        simulated=True,
        source=f"models.simulate, truth {DD_TRUTH}, noise 0.02, seed {seed}",
    )


SCALE_TIME_TRUTH = {
    "E": 0.5,
    "kappa": 0.4,
    "l1": 1e-4,
    "dlog_l2": math.log(300.0),
    "S1": 1.0,
    "S2": 1.5,
    "V1": 0.8,
    "V2": 0.2,
}


def sim_scale_time(data_dir: Path, seed: int = 12) -> Task:
    """Scale-time law: fit sizes <= 1e7 over all times, predict 1e8 and 1e9."""
    sizes, steps = np.geomspace(1e5, 1e9, 5), np.geomspace(0.1, 1000.0, 20)
    grid_n, grid_t = (g.ravel() for g in np.meshgrid(sizes, steps, indexing="ij"))
    fam = models.get_family("scale_time")
    sim = simulate(
        fam, SCALE_TIME_TRUTH, {"params": grid_n, "steps": grid_t}, noise=0.02, seed=seed
    )
    inputs = {**sim.inputs, "compute": grid_n * grid_t}  # N x t: M2's and BNSL's one resource
    data = ScalingData(inputs, sim.loss)
    train, test = _split(data, data.inputs["params"] <= 1e7)
    return Task(
        "sim_scale_time",
        "simulated scale_time, 5 sizes x 20 times; fit N <= 1e7, predict N = 1e8, 1e9",
        train,
        test,
        "scale_time",
        approach3_inputs=("params", "steps"),
        single_input="compute",
        plot_x="steps",
        simulated=True,
        source=f"models.simulate, truth {SCALE_TIME_TRUTH}, noise 0.02, seed {seed}",
    )


Loader = Callable[[Path], Task]
# name -> (loader, in quick mode); the order is the priority
TASKS: dict[str, tuple[Loader, bool]] = {
    "epoch_chinchilla": (epoch_chinchilla, True),
    "porian_rsld": (porian_rsld, False),
    "misfitting_li2025": (misfitting_li2025, False),
    "bnsl_4digit_addition": (bnsl_4digit_addition, True),
    "nslpfn_nanogpt_width": (nslpfn_nanogpt_width, True),
    "sim_double_descent": (sim_double_descent, True),
    "sim_scale_time": (sim_scale_time, True),
}


def load_tasks(data_dir: Path, quick: bool, names: tuple[str, ...] | None = None) -> list[Task]:
    """The tasks of a run (quick mode: the small real tasks and the simulated ones)."""
    chosen = names or tuple(n for n, (_, q) in TASKS.items() if q or not quick)
    return [TASKS[n][0](data_dir) for n in chosen]
