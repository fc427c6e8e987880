"""``qled trpl FILE.csv [--irf IRF.csv] [--components 1|2|3] [--out DIR] [--json]``.

Fits a TCSPC photoluminescence decay (``analysis.trpl``), writes a short report
(Markdown + PNG: decay, fit, IRF and weighted residuals) and prints the results.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "trpl", help="fit a time-resolved PL decay (CSV: time_ns, counts)",
        description="Fit 1–3 exponentials plus background to a TCSPC PL decay by Poisson "
        "maximum likelihood (reconvolution with the IRF when --irf is given, tail fit "
        "otherwise); report τ_i, A_i, fractional intensities, τ_amp, τ_int, reduced χ².")
    p.add_argument("file", help="decay CSV: two columns time_ns, counts (uniform channels)")
    p.add_argument("--irf", default=None, metavar="IRF.csv",
                   help="instrument response on the same channels (time_ns, counts)")
    p.add_argument("--components", type=int, choices=(1, 2, 3), default=2,
                   help="number of exponentials (default 2)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the report (default: next to FILE, <stem>_trpl)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=_trpl)


def _read_decay(path: Path):
    """(time_ns, counts) of a decay CSV (one-line ValueError naming the file)."""
    from analysis.trpl import parse_decay_table

    return parse_decay_table(path.read_text(encoding="utf-8", errors="replace"), path.name)


def _trpl(args) -> int:
    from analysis.trpl import fit_decay
    from reports.trpl import write_trpl_report

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    t, y = _read_decay(path)
    irf = None
    if args.irf:
        irf_path = Path(args.irf)
        if not irf_path.is_file():
            raise FileNotFoundError(f"--irf = {args.irf!r} does not exist")
        ti, irf = _read_decay(irf_path)
        if ti.shape != t.shape or not np.allclose(ti, t, rtol=0, atol=1e-6 * (t[1] - t[0])):
            raise ValueError(f"--irf = {args.irf!r}: its channels differ from the decay's: "
                             "allowed the same time_ns column")
    fit = fit_decay(t, y, args.components, irf=irf)
    out = Path(args.out) if args.out else path.parent / f"{path.stem}_trpl"
    page = write_trpl_report(fit, out, path.stem, source=path.name,
                             irf_name=Path(args.irf).name if args.irf else None, irf=irf)
    result = {"file": str(path), "irf": args.irf, **fit.to_dict(), "report": str(page)}
    if args.json:
        print(json.dumps(_json_safe(result), allow_nan=False))
    else:
        for i, (tau, err, f) in enumerate(zip(fit.taus_ns, fit.taus_err_ns,
                                              fit.intensity_fractions), start=1):
            print(f"tau_{i:<3d} {tau:10.4g} ± {err:.2g} ns   f_{i} = {f:.3f}")
        print(f"tau_amp  {fit.tau_amp_ns:10.4g} ± {fit.tau_amp_err_ns:.2g} ns")
        print(f"tau_int  {fit.tau_int_ns:10.4g} ± {fit.tau_int_err_ns:.2g} ns")
        print(f"reduced chi2 {fit.reduced_chi2:.3f} ({fit.method})")
        print(page)
    return 0


def _json_safe(obj):
    """NaN/inf → None so the printed JSON is valid."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj
