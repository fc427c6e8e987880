"""Static safety checks of the package sources (also run in the default fast suite).

No unpickling, ``eval``/``exec``, unsafe YAML, pickled NumPy loads or ``__import__``; dynamic
imports only in reviewed places whose module names are ours or checked before use.
``test_no_remote_surface.py`` imports these tests so that ``pytest -m reliability`` runs them.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("qled", "reports", "acquisition", "instruments", "procedures", "analysis",
            "simulators")


FORBIDDEN = {
    r"\bpickle\.loads?\(": "unpickling",
    r"\bcPickle\b|\bdill\b|\bjsonpickle\b|\bshelve\b|\bmarshal\.loads?\(": "unpickling",
    r"(?<![.\w])eval\(": "eval",
    r"(?<![.\w])exec\(": "exec",                   # Qt's app.exec() is a method call
    r"\byaml\.(unsafe_)?load\(": "YAML load",
    r"allow_pickle\s*=\s*True": "pickled NumPy load",
    r"read_pickle\(": "pandas unpickling",
    r"__import__\(": "__import__",
    r"\bcompile\([^)]*['\"]exec['\"]": "compile/exec",
}
#: Dynamic imports and the module names they take (ours, or checked before anything runs).
#: None left: kinds are found through entry points (qled.kinds), and nothing named in a run
#: file is imported.
IMPORT_SITES: set[str] = set()


def _sources():
    for pkg in PACKAGES:
        yield from sorted((ROOT / pkg).rglob("*.py"))


def test_sources_never_unpickle_or_evaluate():
    files = list(_sources())
    assert len(files) > 40
    hits = []
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            for pattern, what in FORBIDDEN.items():
                if re.search(pattern, code):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {what}: {line.strip()}")
            if "import_module(" in code and \
                    str(path.relative_to(ROOT)) not in IMPORT_SITES:
                hits.append(f"{path.relative_to(ROOT)}:{n}: unreviewed dynamic import")
    assert not hits, "\n".join(hits)


def test_the_forbidden_patterns_do_catch_what_they_name():
    """The scan above is not vacuous: each pattern flags a line that does the thing."""
    samples = {"unpickling": "x = pickle.loads(blob)", "eval": "v = eval(text)",
               "exec": "exec(code)", "YAML load": "yaml.load(f)",
               "pickled NumPy load": "np.load(f, allow_pickle=True)",
               "__import__": "m = __import__(name)"}
    for what, line in samples.items():
        assert any(re.search(p, line) for p, w in FORBIDDEN.items() if w == what), what
    assert not re.search(r"(?<![.\w])exec\(", "return app.exec()")
