"""dmlsim's outputs as pandas tables, for the notebooks beside this file.

Readers: summary.json (load_summary, per_rank), trace.csv (load_trace), links.csv (load_links),
compare.csv (load_compare), sweep.csv (load_sweep), validate's validation.json (load_validation).
run_dmlsim() runs the dmlsim executable; save_figure() checks that a figure holds data and
writes it as PNG.

Environment: DMLSIM (the executable; default: the first of build/release, build/ci),
DMLSIM_NOTEBOOK_OUT (where runs and figures go; default notebooks/out).
"""

import json
import os
import subprocess
from pathlib import Path

import pandas as pd

NOTEBOOKS = Path(__file__).resolve().parent
SOURCE = NOTEBOOKS.parent


def dmlsim_binary():
    """The dmlsim executable: $DMLSIM, else the release or the ci build of this checkout."""
    if os.environ.get("DMLSIM"):
        return Path(os.environ["DMLSIM"])
    for preset in ("release", "ci"):
        candidate = SOURCE / "build" / preset / "dmlsim"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("no dmlsim executable: build it (cmake --build --preset release) or set DMLSIM")


def out_dir(*parts):
    """A directory under $DMLSIM_NOTEBOOK_OUT (default notebooks/out), created."""
    base = Path(os.environ.get("DMLSIM_NOTEBOOK_OUT", NOTEBOOKS / "out"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_dmlsim(*args):
    """Runs `dmlsim ARGS...` and returns what it printed; raises with its output if it fails."""
    result = subprocess.run([str(dmlsim_binary()), *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dmlsim {' '.join(map(str, args))} exited {result.returncode}:\n"
                           f"{result.stdout}{result.stderr}")
    return result.stdout


def load_summary(run_dir):
    """A run's summary.json as a dict."""
    with open(Path(run_dir) / "summary.json") as f:
        return json.load(f)


def per_rank(run_dir):
    """summary.json's per_rank list as a table: rank, role, compute_s, communication_s, ..."""
    return pd.DataFrame(load_summary(run_dir)["per_rank"])


def load_trace(run_dir):
    """trace.csv: one row per event (rank, lane, name, category, start_s, end_s, bytes, peer, ...)."""
    return pd.read_csv(Path(run_dir) / "trace.csv", keep_default_na=False, na_values=[])


def load_links(run_dir):
    """links.csv: every link that carried traffic, busiest first."""
    return pd.read_csv(Path(run_dir) / "links.csv")


def load_compare(path):
    """compare.csv of `dmlsim compare` (a file, or the directory holding it)."""
    path = Path(path)
    return pd.read_csv(path / "compare.csv" if path.is_dir() else path, keep_default_na=False, na_values=[""])


def load_sweep(path):
    """sweep.csv of `dmlsim sweep` (a file, or the directory holding it): one row per point, a
    column per axis, then every figure of the point's summary (dotted names: collective.busbw_GBps)."""
    path = Path(path)
    return pd.read_csv(path / "sweep.csv" if path.is_dir() else path)


def load_validation(path):
    """validate's validation.json as (cases table, the report's header): one row per case with
    predicted_s, measured_median_s, measured_min_s, measured_max_s and error_percent."""
    with open(path) as f:
        report = json.load(f)
    columns = ["case", "ranks", "predicted_s", "measured_median_s", "measured_min_s", "measured_max_s",
               "error_percent"]
    cases = pd.DataFrame([{c: case[c] for c in columns} for case in report["cases"]])
    header = {k: v for k, v in report.items() if k != "cases"}
    return cases, header


def figure_has_data(figure):
    """Whether every axis of `figure` draws something: lines with points, bars, images or
    scatter collections."""
    for ax in figure.axes:
        drawn = (any(len(line.get_xdata()) > 0 for line in ax.lines) or len(ax.patches) > 0
                 or len(ax.images) > 0 or any(len(c.get_offsets()) > 0 or len(c.get_paths()) > 0
                                               for c in ax.collections))
        if not drawn:
            return False
    return len(figure.axes) > 0


def save_figure(figure, name):
    """Checks the figure holds data (an empty axis fails the notebook), then writes
    figures/NAME.png under the output directory and returns its path."""
    if not figure_has_data(figure):
        raise AssertionError(f"figure {name}: an axis without data")
    path = out_dir("figures") / f"{name}.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path
