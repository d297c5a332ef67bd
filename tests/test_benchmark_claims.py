"""The figures that prose quotes from committed benchmark results are those results.

A benchmark's result file is the evidence; a page that quotes it must quote what it
holds (rounded as printed), so that re-running a benchmark without updating the page
fails here.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_reconstructions_appendix_quotes_the_residualisation_benchmark():
    medians = json.loads((RESULTS / "residualisation.json").read_text())["medians"]
    text = _flat((ROOT / "book" / "reconstructions.md").read_text())
    f = {key: f"{value:.2f}" for key, value in medians.items()}
    expected = (
        f"error of the projected $T_3$ falls from {f['T3_degrees_0_1_removed']} with only "
        f"degrees 0 and 1 removed to {f['T3_library']}, that of $T_4$ from "
        f"{f['T4_degrees_0_1_removed']} to {f['T4_library']} (from the labels themselves: "
        f"{f['T3_labels']} and {f['T4_labels']})",
        f"a fourth pass over the samples, gives {f['T4_degree_3_removed_too']}:",
    )
    for phrase in expected:
        assert phrase in text, phrase
    # what the page concludes from them
    assert medians["T3_library"] < 0.6 * medians["T3_degrees_0_1_removed"]
    assert medians["T4_library"] < 0.6 * medians["T4_degrees_0_1_removed"]
    assert 0.8 * medians["T4_library"] < medians["T4_degree_3_removed_too"] < medians["T4_library"]
