"""Extrapolation tasks: fit-small / predict-large splits of real and simulated scaling data.

Each loader returns a :class:`Task`: the training and held-out rows as ``models.ScalingData``,
the family and pooling bayescale fits, and the inputs the baselines get (Approach 3 takes every
resource the family uses, M2, BNSL and M4 one). The splits (also in BENCHMARKS.md):

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
* ``gemstones`` — McLeish et al. 2025, constant-LR ("hot") training-loss checkpoints every 10B
  tokens (``wandb_df_for_fitting_hot_100b+.jsonl``); fit the 14 models with N <= 500M
  (48M-497M) at checkpoints <= 100B tokens (the paper's ``hot`` rows), predict the three ~2B
  models (1.90B-2.01B) at their last checkpoint, 350B tokens. The 517M-1.05B models are in
  neither set. N = ``params_active_precise``, D = tokens seen; one group; ``chinchilla``.

The ColPret tasks (Choshen et al. 2024's collection, ``colpret_hitchhiker``, read by
:mod:`benchmarks.colpret`) follow the paper's protocol within one model family: fit the
checkpoints of the smaller models' training curves, predict the largest model. Every curve's
checkpoints before 10 % of its final tokens are dropped (warm-up dominated; the protocol's
option), and curves are thinned to the rows nearest ``k`` log-spaced token counts
(:func:`benchmarks.colpret.log_spaced`; GPT-3's digitised curves have 580-1,110 points each,
datablations' up to 525) so NUTS gets a few hundred rows. Loss is in nats (``ln`` of
perplexity where a file reports perplexity). M2 and BNSL get C = 6ND.

* ``colpret_datablations`` — Muennighoff et al.'s repeated-data curves (2.8B, 4.2B, 8.7B
  models x 8 unique-token budgets, 1-44 epochs, on C4 and OSCAR): fit the 2.8B and 4.2B curves
  (12 checkpoints each), predict the final loss of the 8.7B runs (all 8 budgets).
  ``data_constrained`` on (N, tokens seen, unique tokens), a group per dataset, the family's
  default pooling (Chinchilla's parameters partially pooled, R* shared); Approach 3 gets all
  three inputs (a third power-law term in unique tokens).
* ``colpret_gpt3`` — GPT-3's digitised validation-loss curves (125M-175B): fit 125M-13B
  (15 checkpoints each), predict 175B's checkpoints from 150B tokens (half its run) to 300B
  (10 of them). ``chinchilla``, one group.
* ``colpret_opt`` — OPT's perplexity trajectories (125M-175B; tokens = 10^``num_token``): fit
  125M-30B, predict 175B's 10 checkpoints from half its final tokens on. ``chinchilla``.
* ``colpret_pile_t5`` — Pile-T5 ``val_perplexity`` (base/large/xl/xxl, 248M-11.1B, sizes as
  ColPret gives them; 1M tokens per step as ColPret counts them; step 0 dropped): fit
  base-xl (15 checkpoints each), predict xxl from step 1M (half its run) to 2M (10
  checkpoints). ``chinchilla``.

The new real tasks are not in quick mode (the CI smoke run stays as it was).

Round 5, pre-registered on 2026-12-05 before any method was run on their held-out rows (also in
BENCHMARKS.md, "Pre-registered tasks (round 5)"). ``family`` is what a user would pick today
(a ``family: "auto"`` run ignores it); every split is by the scale axis only. Within-run
trajectory tasks share one rule (:func:`_trajectory_task`): per run, checkpoints before 10 % of
the run's final tokens are dropped (warm-up), the fit rows are those from 10 % to 30 % of its
final tokens thinned to the 15 nearest log-spaced token counts, the held-out rows those from 60 %
on thinned to 10; each run is a group; ``power_law`` over tokens; every baseline gets tokens.

* ``colpret_olmo`` — OLMo-1B, 7B and 7B-Twin-2T (three runs), mC4 validation cross-entropy
  (``v2-small-mc4_en-validation`` for 1B, ``mc4_en-validation`` for the 7Bs), tokens = step x
  2048 x 2048. Trajectory rule; 45 train, 30 held out.
* ``colpret_k2`` — LLM360 K2-65B training loss by ``tokens_seen`` (the 0-token row dropped, loss
  spikes kept). Trajectory rule; 15 train, 10 held out.
* ``gemstones_trajectories`` — the 22 constant-LR ("hot") Gemstones runs to 350B tokens
  (``wandb_df_for_fitting_hot_100b+.jsonl``, training loss). Trajectory rule (fit 40B-100B,
  predict 210B-350B); 154 train, 220 held out.
* ``misfitting_trajectories`` — Li et al. 2025's runs of the 200M, 300M, 400M and 1B models with
  at least 40 checkpoints (20 runs: model x schedule length x peak lr x sweep; cosine schedules,
  so the late part bends down), C4 eval loss, tokens = ``D``. Trajectory rule; 199 train, 200
  held out.
* ``colpret_gzip`` — Pandey 2024's PCFG runs (final ``valid_loss`` entry), a group per dataset
  (5 gzip-compressibilities); fit the 4.2M-59M models at all 5 token counts (100), predict the
  275M and 1.39B models (50). ``chinchilla`` on (N, tokens), default pooling; M2 / BNSL get
  C = 6ND.
* ``openclip_imagenet`` — OpenCLIP zero-shot ImageNet-1k top-1 *error* (1 - ``acc1``), LAION
  runs only (CLIP-WIT is OpenAI's model, not a run of the sweep), a group per LAION dataset
  (80M, 400M, 2B); fit ViT-B/32 and B/16 at every samples-seen budget (18), predict ViT-L/14,
  H/14 and g/14 (11). x = total compute (``gmacs_total`` x 2 FLOP); ViT-B/32 and B/16 have the
  same parameter count, so compute is the one input every method gets. ``power_law`` on compute.
* ``obsscaling_mmlu`` — Ruan et al.'s base LMs (one group across families), MMLU *error*
  (1 - accuracy); rows without FLOPs dropped, and ``btlm-3b-8k-base`` (627 "T" tokens: 627 B in
  its source, a units slip); fit C <= 1e23 FLOP (79), predict above (43). ``power_law`` on
  compute; Approach 3 gets (N, D).
* ``llama2_long_context`` — Llama-2-Long loss by context position (digitised; the position
  enters as ``data``), a group per size (7B, 13B, 34B, 70B); fit positions <= 100 (29), predict
  137-2,211 (28). ``power_law`` on that input.
* ``nslpfn_nanogpt_min_loss`` — the NSL-PFN ``min_val_loss`` curves (12 settings as groups; they
  start at the untrained ln 50257 = 10.8 and bend down: an S on log-log axes); fit widths 6-96
  (60), predict 192 and 384 (24). ``power_law`` on width, as for ``nslpfn_nanogpt_width``.

No double-descent real task: none of the shared datasets has a model-wise or sample-wise peak
(``../shared/data/README.md`` lists "DD: no" for each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import models
from benchmarks.colpret import (
    after_fraction,
    datablations_curves,
    gpt3_curves,
    gzip_runs,
    k2_curve,
    log_spaced,
    olmo_curves,
    opt_curves,
    pile_t5_curves,
)
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


def _from_frames(
    train: pd.DataFrame, test: pd.DataFrame, *mapping: dict[str, str], **options: Any
) -> tuple[ScalingData, ScalingData]:
    """Training and held-out rows read alike (``ScalingData.from_frame``'s column map, options)."""
    return (
        ScalingData.from_frame(train, *mapping, **options),
        ScalingData.from_frame(test, *mapping, **options),
    )


def _split_frame(
    frame: pd.DataFrame, fit: pd.Series, **options: Any
) -> tuple[ScalingData, ScalingData]:
    """The rows where ``fit`` holds train, the others are held out."""
    return _from_frames(frame[fit], frame[~fit], **options)


def _one_input(x: str) -> dict[str, Any]:
    """A task on one resource ``x``: every baseline gets it and the plots run along it."""
    return {"approach3_inputs": (x,), "single_input": x, "plot_x": x}


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
        **_one_input("data"),
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
        **_one_input("params"),
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
        **_one_input("params"),
        simulated=True,
        source=f"models.simulate, truth {DD_TRUTH}, noise 0.02, seed {seed}",
    )


def sim_scale_time(data_dir: Path, seed: int = 12) -> Task:
    """Scale-time law: fit sizes <= 1e7 over all times, predict 1e8 and 1e9."""
    sizes, steps = np.geomspace(1e5, 1e9, 5), np.geomspace(0.1, 1000.0, 20)
    grid_n, grid_t = (g.ravel() for g in np.meshgrid(sizes, steps, indexing="ij"))
    fam = models.get_family("scale_time")
    sim = simulate(
        fam, models.SCALE_TIME_EXAMPLE, {"params": grid_n, "steps": grid_t}, noise=0.02, seed=seed
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
        source=f"models.simulate, truth {dict(models.SCALE_TIME_EXAMPLE)}, noise 0.02, seed {seed}",
    )


GEMSTONES_FIT_PARAMS = 5e8
# the "100B" checkpoint is at 100.03B tokens (10 x 2,385 steps x 4.19M tokens)
GEMSTONES_FIT_TOKENS = 1.01e11
GEMSTONES_PREDICT_PARAMS = 1.5e9


def gemstones(data_dir: Path) -> Task:
    """Gemstones "hot" runs: fit N <= 500M at <= 100B tokens, predict the 2B models at 350B."""
    path = data_dir / "gemstones" / "wandb_dfs" / "wandb_df_for_fitting_hot_100b+.jsonl"
    frame = pd.read_json(path, lines=True)
    n, tokens = frame["params_active_precise"], frame["tokens"]
    fit_rows = (n <= GEMSTONES_FIT_PARAMS) & (tokens <= GEMSTONES_FIT_TOKENS)
    predict_rows = (n >= GEMSTONES_PREDICT_PARAMS) & (tokens == tokens.max())
    mapping = {"params": "params_active_precise", "data": "tokens", "loss": "final_loss"}
    train, test = _from_frames(
        frame[fit_rows].reset_index(drop=True),
        frame[predict_rows].reset_index(drop=True),
        mapping,
        flops_per_param_token=6,
    )
    return Task(
        "gemstones",
        "fit N <= 500M at checkpoints <= 100B tokens, predict the 1.9-2.0B models at 350B",
        train,
        test,
        "chinchilla",
        source=str(path),
    )


# -- ColPret (Choshen et al. 2024): within a family, fit the smaller models' curves ------------

COLPRET_WARMUP_FRACTION = 0.1  # checkpoints before 10 % of a curve's final tokens are dropped
COLPRET_LATE_FRACTION = 0.5  # the largest model is predicted from half its final tokens on
COLPRET_FIT_CHECKPOINTS = 15
COLPRET_PREDICT_CHECKPOINTS = 10


def _colpret_family_task(
    name: str, split: str, curves: tuple[pd.DataFrame, Path], largest: str
) -> Task:
    """Chinchilla within one family: every model but ``largest`` fits, ``largest`` is held out."""
    frame, source = curves
    frame = frame[after_fraction(frame, ["model"], "data", COLPRET_WARMUP_FRACTION)]
    held_out = frame["model"] == largest
    late = after_fraction(frame, ["model"], "data", COLPRET_LATE_FRACTION)
    fit_rows = log_spaced(frame[~held_out], ["model"], "data", COLPRET_FIT_CHECKPOINTS)
    predict_rows = log_spaced(
        frame[held_out & late], ["model"], "data", COLPRET_PREDICT_CHECKPOINTS
    )
    columns = ["params", "data", "loss"]
    train, test = _from_frames(fit_rows[columns], predict_rows[columns], flops_per_param_token=6)
    return Task(name, split, train, test, "chinchilla", source=str(source))


def colpret_gpt3(data_dir: Path) -> Task:
    """GPT-3 validation-loss curves: fit 125M-13B, predict 175B from 150B tokens on."""
    return _colpret_family_task(
        "colpret_gpt3",
        "fit the 125M-13B val-loss curves, predict 175B's at 150B-300B tokens",
        gpt3_curves(data_dir),
        "175b",
    )


def colpret_opt(data_dir: Path) -> Task:
    """OPT perplexity trajectories: fit 125M-30B, predict 175B's second half."""
    return _colpret_family_task(
        "colpret_opt",
        "fit the 125M-30B perplexity curves, predict 175B's from half its tokens on",
        opt_curves(data_dir),
        "175b",
    )


def colpret_pile_t5(data_dir: Path) -> Task:
    """Pile-T5 validation perplexity: fit base-xl, predict xxl from step 1M to 2M."""
    return _colpret_family_task(
        "colpret_pile_t5",
        "fit the base-xl val-perplexity curves, predict xxl's at steps 1M-2M",
        pile_t5_curves(data_dir),
        "xxl",
    )


DATABLATIONS_FIT_CHECKPOINTS = 12


def colpret_datablations(data_dir: Path) -> Task:
    """Repeated data (C4, OSCAR): fit the 2.8B and 4.2B curves, predict the 8.7B final losses."""
    frame, path = datablations_curves(data_dir)
    curve = ["dataset", "model", "epochs"]
    frame = frame[after_fraction(frame, curve, "data", COLPRET_WARMUP_FRACTION)]
    held_out = frame["model"] == "8.7B"
    final = frame["data"] == frame.groupby(curve)["data"].transform("max")
    fit_rows = log_spaced(frame[~held_out], curve, "data", DATABLATIONS_FIT_CHECKPOINTS)
    columns = ["dataset", "params", "data", "unique_data", "loss"]
    train, test = _from_frames(
        fit_rows[columns],
        frame[held_out & final][columns],
        group_col="dataset",
        flops_per_param_token=6,
    )
    return Task(
        "colpret_datablations",
        "per dataset (C4, OSCAR), fit the 2.8B and 4.2B curves (1-44 epochs), "
        "predict the 8.7B final losses",
        train,
        test,
        "data_constrained",
        approach3_inputs=("params", "data", "unique_data"),
        source=str(path),
    )


# -- Round 5 (pre-registered 2026-12-05, see the module docstring and BENCHMARKS.md) -----------

# Within-run trajectories: drop the warm-up, fit an early window, predict the late part.
TRAJECTORY_WARMUP_FRACTION = 0.1
TRAJECTORY_FIT_UNTIL = 0.3
TRAJECTORY_PREDICT_FROM = 0.6
TRAJECTORY_FIT_CHECKPOINTS = 15
TRAJECTORY_PREDICT_CHECKPOINTS = 10


def _trajectory_task(
    name: str, split: str, curves: tuple[pd.DataFrame, Path], run: str = "model"
) -> Task:
    """Per run (a group each): fit tokens in [10 %, 30 %] of its final tokens, predict >= 60 %."""
    frame, source = curves
    fraction = frame["data"] / frame.groupby(run)["data"].transform("max")
    fit = (fraction >= TRAJECTORY_WARMUP_FRACTION) & (fraction <= TRAJECTORY_FIT_UNTIL)
    fit_rows = log_spaced(frame[fit], [run], "data", TRAJECTORY_FIT_CHECKPOINTS)
    predict_rows = log_spaced(
        frame[fraction >= TRAJECTORY_PREDICT_FROM], [run], "data", TRAJECTORY_PREDICT_CHECKPOINTS
    )
    columns = [run, "data", "loss"]
    train, test = _from_frames(fit_rows[columns], predict_rows[columns], group_col=run)
    return Task(
        name,
        split,
        train,
        test,
        "power_law",
        {"x": "data"},
        **_one_input("data"),
        source=str(source),
    )


def colpret_olmo(data_dir: Path) -> Task:
    """OLMo-1B / 7B / 7B-Twin-2T mC4 validation loss: fit 10-30 % of each run, predict >= 60 %."""
    return _trajectory_task(
        "colpret_olmo",
        "per run (OLMo-1B, 7B, 7B-Twin-2T; mC4 val CE), fit 10-30 % of its tokens, "
        "predict 60-100 %",
        olmo_curves(data_dir),
    )


def colpret_k2(data_dir: Path) -> Task:
    """LLM360 K2-65B training loss (spikes kept): fit 10-30 % of the run, predict >= 60 %."""
    return _trajectory_task(
        "colpret_k2",
        "K2-65B training loss, fit 10-30 % of its 1.35T tokens, predict 60-100 %",
        k2_curve(data_dir),
    )


def gemstones_trajectories(data_dir: Path) -> Task:
    """Gemstones "hot" runs, one group each: fit 35-105B tokens, predict 210-350B."""
    path = data_dir / "gemstones" / "wandb_dfs" / "wandb_df_for_fitting_hot_100b+.jsonl"
    raw = pd.read_json(path, lines=True)
    frame = pd.DataFrame({"run": raw["run_name"], "data": raw["tokens"], "loss": raw["final_loss"]})
    return _trajectory_task(
        "gemstones_trajectories",
        "per run (22 constant-LR runs, 48M-2.0B), fit 10-30 % of 350B tokens, predict 60-100 %",
        (frame, path),
        run="run",
    )


MISFITTING_TRAJECTORY_MODELS = (
    "misfitting_200m",
    "misfitting_300m",
    "misfitting_400m",
    "misfitting_1b",
)
MISFITTING_TRAJECTORY_MIN_CHECKPOINTS = 40


def misfitting_trajectories(data_dir: Path) -> Task:
    """Li et al. runs of the 200M-1B models with >= 40 checkpoints: fit 10-30 %, predict >= 60 %."""
    path = data_dir / "misfitting_li2025" / "scaling_results.csv"
    raw = pd.read_csv(path)
    raw = raw[raw["model"].isin(MISFITTING_TRAJECTORY_MODELS)]
    key = ["model", "total_steps", "peak_lr", "sweep"]
    raw = raw[raw.groupby(key)["loss"].transform("size") >= MISFITTING_TRAJECTORY_MIN_CHECKPOINTS]
    run = raw[key].astype(str).agg("/".join, axis=1)
    frame = pd.DataFrame({"run": run, "data": raw["D"].astype(float), "loss": raw["loss"]})
    return _trajectory_task(
        "misfitting_trajectories",
        "per run (the 20 runs of the 200M-1B models with >= 40 checkpoints, cosine schedules), "
        "fit 10-30 % of its tokens, predict 60-100 %",
        (frame.reset_index(drop=True), path),
        run="run",
    )


GZIP_FIT_PARAMS = 6e7


def colpret_gzip(data_dir: Path) -> Task:
    """gzip-scaling PCFG runs, a group per dataset: fit N <= 59M, predict 275M and 1.39B."""
    frame, path = gzip_runs(data_dir)
    small = frame["params"] <= GZIP_FIT_PARAMS
    train, test = _split_frame(frame, small, group_col="dataset", flops_per_param_token=6)
    return Task(
        "colpret_gzip",
        "per PCFG dataset (5 gzip-compressibilities), fit the 4.2M-59M models at every token "
        "count, predict the 275M and 1.39B models",
        train,
        test,
        "chinchilla",
        source=str(path),
    )


OPENCLIP_FIT_ARCHS = ("ViT-B-32", "ViT-B-16")
GMAC_FLOPS = 2e9  # one multiply-accumulate = 2 FLOP


def openclip_imagenet(data_dir: Path) -> Task:
    """OpenCLIP zero-shot ImageNet top-1 error: fit ViT-B/32 and B/16, predict L/14, H/14, g/14."""
    path = data_dir / "laion_openclip" / "zeroshot_results.csv"
    raw = pd.read_csv(path)
    raw = raw[
        (raw["downstream_dataset"] == "imagenet1k")
        & raw["upstream_dataset"].str.startswith("LAION")
    ]
    frame = pd.DataFrame(
        {
            "upstream": raw["upstream_dataset"],
            "arch": raw["arch"],
            "data": raw["samples_seen"],
            "compute": raw["gmacs_total"] * GMAC_FLOPS,
            "loss": 1.0 - raw["acc1"],
        }
    )
    small = frame["arch"].isin(OPENCLIP_FIT_ARCHS)
    train, test = _split_frame(frame.drop(columns="arch"), small, group_col="upstream")
    return Task(
        "openclip_imagenet",
        "per LAION dataset (80M, 400M, 2B), fit ViT-B/32 and B/16 (3B-34B samples), predict "
        "ViT-L/14, H/14, g/14; loss = zero-shot top-1 error, x = total compute",
        train,
        test,
        "power_law",
        {"x": "compute"},
        **_one_input("compute"),
        source=str(path),
    )


OBSSCALING_FIT_FLOPS = 1e23
# The source lists btlm-3b-8k-base with 627 T pretraining tokens: 627 B in its model card (a
# units slip that puts a 3B model at 1e25 FLOP), so the row is dropped rather than corrected.
OBSSCALING_DROPPED = ("cerebras/btlm-3b-8k-base",)


def obsscaling_mmlu(data_dir: Path) -> Task:
    """Observational scaling: MMLU error of base LMs, fit C <= 1e23 FLOP, predict above."""
    path = data_dir / "obsscaling" / "base_llm_benchmark_eval.csv"
    raw = pd.read_csv(path).dropna(subset=["FLOPs (1E21)", "MMLU"])
    raw = raw[~raw["Model"].isin(OBSSCALING_DROPPED)]
    frame = pd.DataFrame(
        {
            "params": raw["Model Size (B)"] * 1e9,
            "data": raw["Pretraining Data Size (T)"] * 1e12,
            "compute": raw["FLOPs (1E21)"] * 1e21,
            "loss": 1.0 - raw["MMLU"],
        }
    )
    small = frame["compute"] <= OBSSCALING_FIT_FLOPS
    train, test = _split_frame(frame, small)
    return Task(
        "obsscaling_mmlu",
        "base LMs of 30+ families (one group), MMLU 5-shot error; fit C <= 1e23 FLOP, predict "
        "C > 1e23 (btlm-3b dropped: its token count is mis-scaled in the source)",
        train,
        test,
        "power_law",
        {"x": "compute"},
        single_input="compute",
        plot_x="compute",
        source=str(path),
    )


LLAMA2_FIT_CONTEXT = 100.0


def llama2_long_context(data_dir: Path) -> Task:
    """Llama-2-Long loss by context position, per size: fit positions <= 100, predict the rest."""
    path = data_dir / "llama2_long_context" / "combined_llama2.csv"
    raw = pd.read_csv(path)
    # context position is the one resource: it enters as ``data`` (tokens of context seen)
    frame = pd.DataFrame(
        {"size": raw["params"].astype(str) + "B", "data": raw["context"], "loss": raw["loss"]}
    )
    short = frame["data"] <= LLAMA2_FIT_CONTEXT
    train, test = _split_frame(frame, short, group_col="size")
    return Task(
        "llama2_long_context",
        "per size (7B, 13B, 34B, 70B), fit context positions <= 100 (digitised units), "
        "predict 100-2,211",
        train,
        test,
        "power_law",
        {"x": "data"},
        **_one_input("data"),
        source=str(path),
    )


NANOGPT_MIN_FIT_WIDTH = 96


def nslpfn_nanogpt_min_loss(data_dir: Path) -> Task:
    """NSL-PFN early-evaluation curves (S-shaped, from ln 50257): fit widths 6-96, predict more."""
    path = data_dir / "nslpfn_nanogpt_width" / "nanogpt_val_loss_over_n_embd.csv"
    frame = pd.read_csv(path)
    frame = frame[frame["source_file"].str.startswith("min")].reset_index(drop=True)
    frame["setting"] = "hp" + frame["hyperparam_setting_index"].astype(str).str.zfill(2)
    data = ScalingData.from_frame(
        frame, {"params": "n_embd", "loss": "val_loss"}, group_col="setting"
    )
    train, test = _split(data, data.inputs["params"] <= NANOGPT_MIN_FIT_WIDTH)
    return Task(
        "nslpfn_nanogpt_min_loss",
        "12 settings (min_val_loss: near the untrained ln 50257), fit widths 6-96, "
        "predict 192 and 384",
        train,
        test,
        "power_law",
        {"x": "params"},
        **_one_input("params"),
        source=str(path),
    )


Loader = Callable[[Path], Task]
# name -> (loader, in quick mode); the order is the priority
TASKS: dict[str, tuple[Loader, bool]] = {
    "epoch_chinchilla": (epoch_chinchilla, True),
    "porian_rsld": (porian_rsld, False),
    "misfitting_li2025": (misfitting_li2025, False),
    "bnsl_4digit_addition": (bnsl_4digit_addition, True),
    # full mode only since 2026-12-06: no quick bound reads it, and its 12-group auto fit
    # (longer runs included) was 158 s of the CI gate's 805 s on a slow host
    "nslpfn_nanogpt_width": (nslpfn_nanogpt_width, False),
    "sim_double_descent": (sim_double_descent, True),
    "sim_scale_time": (sim_scale_time, True),
    "gemstones": (gemstones, False),
    "colpret_datablations": (colpret_datablations, False),
    "colpret_gpt3": (colpret_gpt3, False),
    "colpret_opt": (colpret_opt, False),
    "colpret_pile_t5": (colpret_pile_t5, False),
    # round 5, pre-registered 2026-12-05 (BENCHMARKS.md "Pre-registered tasks (round 5)")
    "colpret_olmo": (colpret_olmo, False),
    "colpret_k2": (colpret_k2, False),
    "gemstones_trajectories": (gemstones_trajectories, False),
    "misfitting_trajectories": (misfitting_trajectories, False),
    "colpret_gzip": (colpret_gzip, False),
    "openclip_imagenet": (openclip_imagenet, False),
    "obsscaling_mmlu": (obsscaling_mmlu, False),
    "llama2_long_context": (llama2_long_context, False),
    "nslpfn_nanogpt_min_loss": (nslpfn_nanogpt_min_loss, False),
}


def load_tasks(data_dir: Path, quick: bool, names: tuple[str, ...] | None = None) -> list[Task]:
    """The tasks of a run (quick mode: the small real tasks and the simulated ones)."""
    chosen = names or tuple(n for n, (_, q) in TASKS.items() if q or not quick)
    return [TASKS[n][0](data_dir) for n in chosen]
