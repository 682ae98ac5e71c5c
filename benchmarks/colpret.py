"""ColPret's training curves as tidy frames, and the thinning the extrapolation tasks apply.

Choshen, Zhang & Andreas 2024 ("A Hitchhiker's Guide to Scaling Law Estimation",
arXiv:2410.11840) collected the training curves of many model families (``colpret_hitchhiker``
in the shared data). Each reader here returns one family's curves as a frame with columns
``model`` (size name), ``params`` (N), ``data`` (tokens seen at the checkpoint) and ``loss``
(nats: ``ln`` of perplexity where the file reports perplexity), plus the file it read. The splits
are :mod:`benchmarks.tasks`'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

GPT3_PARAMS = {
    "small": 125e6,
    "medium": 350e6,
    "large": 760e6,
    "xl": 1.3e9,
    "2.7b": 2.7e9,
    "6.7b": 6.7e9,
    "13b": 13e9,
    "175b": 175e9,
}  # Brown et al. 2020, Table 2.1
OPT_PARAMS = {"125m": 125e6, "1.3b": 1.3e9, "6.7b": 6.7e9, "13b": 13e9, "30b": 30e9, "175b": 175e9}
# ColPret's parameter counts and tokens per step for Pile-T5 (its aggregate_evals.py)
PILE_T5_PARAMS = {"base": 247586304, "large": 783173632, "xl": 2849804288, "xxl": 11135426560}
PILE_T5_TOKENS_PER_STEP = 1e6
DATABLATIONS_PARAMS = {"2.8B": 2.8e9, "4.2B": 4.2e9, "8.7B": 8.7e9}


def log_spaced(frame: pd.DataFrame, curve: list[str], x: str, k: int) -> pd.DataFrame:
    """At most ``k`` rows per curve: those nearest ``k`` log-spaced values of ``x`` (min to max).

    Thins curves logged at hundreds of checkpoints to what NUTS needs, keeping the rows' values
    unchanged and a curve's early part (spread out in log tokens) as dense as its late part.
    """
    parts = []
    for _, rows in frame.groupby(curve, sort=True):
        rows = rows.sort_values(x, kind="stable")
        log_x = np.log(rows[x].to_numpy(dtype=float))
        targets = np.linspace(log_x.min(), log_x.max(), k)
        nearest = np.unique(np.abs(log_x[:, None] - targets[None, :]).argmin(axis=0))
        parts.append(rows.iloc[nearest])
    return pd.concat(parts, ignore_index=True)


# "At the cut" up to rounding: a relative tolerance far above an ulp, far below any checkpoint gap.
AT_CUT_RTOL = 1e-9


def after_fraction(frame: pd.DataFrame, curve: list[str], x: str, fraction: float) -> pd.Series:
    """Rows at or beyond ``fraction`` of their curve's final ``x`` ("at" up to rounding).

    The tolerance keeps the split the same on every CPU: OPT's token counts are stored as log10
    values, and its 6.7B checkpoint at exactly 10 % of the run's tokens (28B of 280B) came out
    one ulp above or below the cut depending on the CPU's SIMD ``pow``.
    """
    cut = fraction * frame.groupby(curve)[x].transform("max")
    return frame[x] >= cut * (1 - AT_CUT_RTOL)


def gpt3_curves(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """GPT-3's validation loss, digitised from the paper's figure (580-1,110 points a size)."""
    path = data_dir / "colpret_hitchhiker" / "raw_data" / "gpt3" / "extracted.csv"
    raw = pd.read_csv(path).dropna(subset=["val_loss"])
    frame = pd.DataFrame(
        {
            "model": raw["model"],
            "params": raw["model"].map(GPT3_PARAMS),
            "data": raw["step"] * 1e9,  # the file's "step" is billions of tokens
            "loss": raw["val_loss"],
        }
    )
    return frame, path


def opt_curves(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """OPT's perplexity trajectories (15-36 checkpoints a size)."""
    path = data_dir / "colpret_hitchhiker" / "aggregated_eval" / "opt_trajectories.csv"
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "model": raw["model_size"],
            "params": raw["model_size"].map(OPT_PARAMS),
            "data": 10.0 ** raw["num_token"],  # the file holds log10 tokens
            "loss": np.log(raw["ppl"]),
        }
    )
    return frame, path


def pile_t5_curves(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """Pile-T5's validation perplexity every 10k steps to 2M (step 0, untrained, dropped)."""
    path = data_dir / "colpret_hitchhiker" / "aggregated_eval" / "t5_pile.csv"
    raw = pd.read_csv(path, usecols=["model_name", "steps", "val_perplexity"]).dropna()
    raw = raw[raw["steps"] > 0]
    frame = pd.DataFrame(
        {
            "model": raw["model_name"],
            "params": raw["model_name"].map(PILE_T5_PARAMS),
            "data": raw["steps"] * PILE_T5_TOKENS_PER_STEP,
            "loss": np.log(raw["val_perplexity"]),
        }
    )
    return frame, path


def datablations_curves(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """Muennighoff et al.'s repeated-data runs, plus ``dataset``, ``unique_data``, ``epochs``.

    One curve per (dataset, model, epochs): ``unique_data`` is the unique-token budget
    (``tokens_per_epoch``), repeated ``epochs`` times over the run.
    """
    path = data_dir / "colpret_hitchhiker" / "aggregated_eval" / "datablations_losses.csv"
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "dataset": raw["data"],
            "model": raw["num_params"],
            "params": raw["num_params"].map(DATABLATIONS_PARAMS),
            "data": raw["token_num"].astype(float),
            "unique_data": raw["tokens_per_epoch"],
            "epochs": raw["epochs"],
            "loss": raw["loss"],
        }
    )
    return frame, path


# OLMo logs a checkpoint every 1,000 steps of 2,048 sequences x 2,048 tokens (the revisions are
# named e.g. "step1000-tokens4B"); each model reports its mC4 validation loss under its own name.
OLMO_TOKENS_PER_STEP = 2048 * 2048
OLMO_MC4_COLUMNS = {
    "OLMo-1B": "v2-small-mc4_en-validation/CrossEntropyLoss",
    "OLMo-7B": "mc4_en-validation/CrossEntropyLoss",
    "OLMo-7B-Twin-2T": "mc4_en-validation/CrossEntropyLoss",
}


def olmo_curves(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """OLMo-1B, 7B and 7B-Twin-2T: mC4 validation cross-entropy by checkpoint (one run each)."""
    path = data_dir / "colpret_hitchhiker" / "aggregated_eval" / "olmo.csv"
    raw = pd.read_csv(path)
    raw["model_name"] = raw["model_name"].str.strip()  # the file spells "OLMo-1B " with a space
    parts = []
    for model, column in OLMO_MC4_COLUMNS.items():
        rows = raw[raw["model_name"] == model].dropna(subset=[column])
        parts.append(
            pd.DataFrame(
                {
                    "model": model,
                    "data": rows["Step"].astype(float) * OLMO_TOKENS_PER_STEP,
                    "loss": rows[column],
                }
            )
        )
    return pd.concat(parts, ignore_index=True), path


def k2_curve(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """LLM360 K2-65B's training loss by tokens seen (the untrained row at 0 tokens dropped)."""
    path = data_dir / "colpret_hitchhiker" / "aggregated_eval" / "K2.csv"
    raw = pd.read_csv(path, usecols=["tokens_seen", "k2 training - lm loss"]).dropna()
    raw = raw[raw["tokens_seen"] > 0]
    frame = pd.DataFrame(
        {"model": "K2-65B", "data": raw["tokens_seen"], "loss": raw["k2 training - lm loss"]}
    )
    return frame.reset_index(drop=True), path


def gzip_runs(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    """Pandey 2024's 150 runs: one final validation loss per (PCFG dataset, size, tokens)."""
    path = data_dir / "colpret_hitchhiker" / "raw_data" / "gzip" / "results_new.jsonl"
    raw = pd.read_json(path, lines=True)
    frame = pd.DataFrame(
        {
            "dataset": raw["dataset_name"].str.strip("/"),
            "params": raw["model_size"].astype(float),
            "data": raw["token_ct"].astype(float),
            "loss": raw["valid_loss"].map(lambda losses: float(losses[-1])),
        }
    )
    return frame, path
