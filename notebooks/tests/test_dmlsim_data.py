"""The notebooks' helpers: an empty figure fails, the readers read dmlsim's files."""
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dmlsim_data as dd  # noqa: E402


class FigureChecks(unittest.TestCase):
    def test_an_axis_without_data_fails(self):
        fig, (a, b) = plt.subplots(1, 2)
        a.plot([1, 2], [3, 4])
        self.assertFalse(dd.figure_has_data(fig))  # b is empty
        b.bar(["x"], [1])
        self.assertTrue(dd.figure_has_data(fig))
        empty_line, _ = plt.subplots()
        empty_line.axes[0].plot([], [])
        self.assertFalse(dd.figure_has_data(empty_line))
        self.assertFalse(dd.figure_has_data(plt.figure()))  # no axis at all

    def test_images_and_scatters_count(self):
        fig, (a, b) = plt.subplots(1, 2)
        a.imshow([[0, 1], [1, 0]])
        b.scatter([1], [2])
        self.assertTrue(dd.figure_has_data(fig))

    def test_save_refuses_an_empty_figure_and_writes_a_png(self):
        with tempfile.TemporaryDirectory() as out:
            os.environ["DMLSIM_NOTEBOOK_OUT"] = out
            fig, ax = plt.subplots()
            with self.assertRaises(AssertionError):
                dd.save_figure(fig, "empty")
            self.assertFalse((Path(out) / "figures" / "empty.png").exists())
            ax.plot([0, 1], [0, 1])
            path = dd.save_figure(fig, "line")
            self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")


class Readers(unittest.TestCase):
    def test_sweep_and_validation(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "sweep.csv").write_text("point,ranks,status,error,output,collective.busbw_GBps,iteration_s\n"
                                         "0,4,ok,,points/0000,1.5,0.25\n1,8,failed,\"a, b\",points/0001,,\n")
            sweep = dd.load_sweep(d)
            self.assertEqual(list(sweep.ranks), [4, 8])
            self.assertEqual(sweep.loc[1, "error"], "a, b")
            self.assertEqual(sweep.loc[0, "collective.busbw_GBps"], 1.5)
            report = {"date": "2026-12-06", "median_abs_error_percent": 5.0,
                      "cases": [{"case": "c", "ranks": 4, "predicted_s": 1.0, "measured_median_s": 1.05,
                                 "measured_min_s": 1.0, "measured_max_s": 1.1, "error_percent": -4.76,
                                 "phases": []}]}
            (d / "validation.json").write_text(json.dumps(report))
            cases, header = dd.load_validation(d / "validation.json")
            self.assertEqual(header["median_abs_error_percent"], 5.0)
            self.assertEqual(list(cases.columns)[:2], ["case", "ranks"])


if __name__ == "__main__":
    unittest.main()
