"""Calibrates the overfitting experiment's paired-seed rule (E2_SEEDS, E2_NEEDED in
test_public.py): for the reference solution and for mutants, the fraction of paired runs
on which weight decay and dropout narrow the train-test gap, over many seeds.

Instructor-only; runs the modules directly (no sandbox) with the tests' own protocol and
trusted-side accuracy (test_public.e2-like runs: same split and initial weights with and
without the regularizer). Prints one line per module and condition:

    python solutions/exercise6/calibrate.py --seeds 24 [--epochs 100] [--no-reference] [--only weight_decay|dropout] [MUTANT ...]

MUTANT names a file of solutions/exercise6/mutants/ (without .py); none: the reference only.
`--e1 200` instead measures the initialization experiment's statistics over 200 seeds, and
`--e3 20` the batch-norm experiment's training accuracies over 20 seeds (reference only).
"""
import argparse
import importlib.util
import sys
import time
import types
from math import comb
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def tests():
    spec = importlib.util.spec_from_file_location("_e6_public", HERE / "test_public.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gaps(net, t, seed: int, condition, epochs: int) -> float:
    X, y = t.digits()
    init = t.initial_params(t.E2_SIZES, "he_normal", False, np.random.default_rng([seed, 200]))
    order = np.random.default_rng([seed, 210]).permutation(len(X))
    tr, te = order[:300], order[300:]
    params, state = t.copy_params(init), {}
    p, wd = condition
    net.train(params, state, X[tr], y[tr], epochs, 100, 0.01, p, wd, np.random.default_rng([seed, 220]))
    return t.accuracy(params, state, X[tr], y[tr]) - t.accuracy(params, state, X[te], y[te])


def e1_sweep(net, t, seeds: int) -> None:
    """The statistics test_experiment_initialization bands, for the reference, over seeds."""
    stats = {"least saturated layer (sigmoid, std 1)": [], "last layer std (sigmoid, std 0.01)": [],
             "last layer std (ReLU, He)": [], "last layer std (ReLU, std 0.01)": []}
    for s in range(seeds):
        X = np.random.default_rng([s, 1]).standard_normal((1000, 100))
        layers = lambda init, k, act: t.activations(  # noqa: E731
            net.init_network([100] * 6, init, False, np.random.default_rng([s, k])), X, act)
        values = (min(float(np.mean((h < 0.01) | (h > 0.99))) for h in layers(1.0, 2, "sigmoid")),
                  float(np.std(layers(0.01, 3, "sigmoid")[-1])), float(np.std(layers("he_normal", 4, "relu")[-1])),
                  float(np.std(layers(0.01, 5, "relu")[-1])))
        for key, value in zip(stats, values):
            stats[key].append(value)
    for key, values in stats.items():
        print(f"{key:40s} min {min(values):.3g}  median {np.median(values):.3g}  max {max(values):.3g}")


def e3_sweep(net, t, seeds: int) -> None:
    """Training accuracy after 20 epochs from std 0.01 weights, with and without batch norm."""
    X, y = t.digits()
    for bn in (True, False):
        accs = []
        for s in range(seeds):
            idx = np.random.default_rng([s, 310]).permutation(len(X))[:1000]
            params = t.initial_params([64] + [100] * 5 + [10], 0.01, bn, np.random.default_rng([s, 300]))
            state = {}
            net.train(params, state, X[idx], y[idx], 20, 100, 0.01, 0.0, 0.0, np.random.default_rng([s, 320]))
            accs.append(t.accuracy(params, state, X[idx], y[idx]))
        print(f"batch norm {bn!s:5s}: training accuracy min {min(accs):.3f}  median {np.median(accs):.3f}  "
              f"max {max(accs):.3f} over {seeds} seeds", flush=True)


def pass_probability(rate: float, n: int, k: int) -> float:
    """P(at least k of n paired runs narrow) when each narrows independently with `rate`."""
    return sum(comb(n, i) * rate ** i * (1 - rate) ** (n - i) for i in range(k, n + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutants", nargs="*")
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--no-reference", action="store_true", help="only the mutants named")
    parser.add_argument("--only", choices=["weight_decay", "dropout"], help="one regularizer only")
    parser.add_argument("--e1", type=int, metavar="SEEDS", help="the initialization experiment instead")
    parser.add_argument("--e3", type=int, metavar="SEEDS", help="the batch-norm experiment instead")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parents[1]))
    from grader.mutants import overlay

    t = tests()
    if args.e1 or args.e3:
        net = load("reference", (HERE / "network.py").read_text(encoding="utf-8"))
        if args.e1:
            e1_sweep(net, t, args.e1)
        if args.e3:
            e3_sweep(net, t, args.e3)
        return
    epochs = args.epochs or t.E2_EPOCHS
    reference = (HERE / "network.py").read_text(encoding="utf-8")
    modules = ([] if args.no_reference else [("reference", reference)]) + [
        (m, overlay(reference, (HERE / "mutants" / f"{m}.py").read_text(encoding="utf-8")))
        for m in args.mutants]
    print(f"epochs {epochs}, seeds {args.seeds}, rule: at least {t.E2_NEEDED} of {t.E2_SEEDS}")
    for name, source in modules:
        net = load(name, source)
        started = time.process_time()
        base = [gaps(net, t, s, (0.0, 0.0), epochs) for s in range(args.seeds)]
        for label, condition in (("weight decay 0.1", (0.0, 0.1)), ("dropout 0.1", (0.1, 0.0))):
            if args.only and not label.startswith(args.only.replace("_", " ")):
                continue
            other = [gaps(net, t, s, condition, epochs) for s in range(args.seeds)]
            narrower = sum(b > o for b, o in zip(base, other))
            rate = narrower / args.seeds
            print(f"{name:32s} {label:17s} narrower on {narrower:2d}/{args.seeds} "
                  f"(mean gap {np.mean(base):.3f} -> {np.mean(other):.3f}); "
                  f"P(pass {t.E2_NEEDED} of {t.E2_SEEDS}) at this rate {pass_probability(rate, t.E2_SEEDS, t.E2_NEEDED):.3f}",
                  flush=True)
        print(f"{name:32s} {time.process_time() - started:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()
