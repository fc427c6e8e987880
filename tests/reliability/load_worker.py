"""Child process for test_fuzz_store: loads run files named on stdin, one JSON line each.

Request: ``<mode> <path>`` with mode ``load`` (``load_run``), ``recover`` (``recover`` then
``load_run``) or ``plain`` (h5py alone reads every attribute and dataset, as h5dump does).
Reply: ``{"outcome": "ok" | "error" | "unexpected", "type", "message", …}``. A crash or a
hang shows as a missing reply; the parent watches the time.
"""
from __future__ import annotations

import json
import sys
import traceback


def handle(mode: str, path: str) -> dict:
    import h5py

    from acquisition.store import load_run, recover

    try:
        if mode == "plain":                 # what h5dump does: every attribute and dataset
            def visit(name, obj):
                dict(obj.attrs)
                if isinstance(obj, h5py.Dataset):
                    obj[()]
            with h5py.File(path, "r", locking=False) as f:
                dict(f.attrs)
                f.visititems(visit)
            return {"outcome": "ok"}
        rebuilt = bool(recover(path)) if mode == "recover" else None
        run = load_run(path)
        return {"outcome": "ok", "rows": len(run.data), "rebuilt": rebuilt,
                "rows_committed": int(run.attrs["rows_committed"]),
                "x": run.data.iloc[:, 1].tolist() if run.data.shape[1] > 1 else [],
                "recovered_event": bool(run.events["message"].str.startswith("recovered:").any())}
    except (OSError, ValueError) as exc:     # the documented failures (StoreError is OSError)
        return {"outcome": "error", "type": type(exc).__name__, "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - anything else is what the test looks for
        return {"outcome": "unexpected", "type": type(exc).__name__, "message": str(exc),
                "trace": traceback.format_exc()}


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        mode, _, path = line.rstrip("\n").partition(" ")
        print(json.dumps(handle(mode, path)), flush=True)


if __name__ == "__main__":
    main()
