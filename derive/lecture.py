"""The lecture set (SPEC §7): a table of entries, each a name and how to build its files, written
together into one folder with an index page linking everything.

To add a document, add an ``Entry`` to ``ENTRIES``: its ``build`` returns the files' text by suffix.
Every file is built before anything is written; the set goes to a new folder beside the target, which
replaces the target only once it is complete, so a failure half-way loses nothing. Nothing in a file
depends on the time or the machine, so every run writes the same bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .errors import InputError

FORMATS: tuple[tuple[str, str], ...] = (("html", ".html"), ("latex", ".tex"), ("markdown", ".md"), ("json", ".json"))
"""the printer and the file suffix of each document of a derivation entry, in the order they are linked"""


@dataclass(frozen=True)
class Entry:
    """One document of the set: ``name`` is the file stem, ``build`` gives {suffix: text}."""

    name: str
    title: str
    build: Callable[[], Mapping[str, str]]
    engine: str = "pdflatex"
    """the program that compiles the entry's .tex"""
    description: str = ""


def derivation_files(spec: Mapping[str, Any]) -> dict[str, str]:
    """The derivation of the network ``spec`` in every document format."""
    from .derivation import backprop
    from .network import Network
    from .printers import render

    d = backprop(Network.from_dict(dict(spec)))
    return {suffix: render(d, fmt) for fmt, suffix in FORMATS}


def derivation(name: str, title: str, spec: Mapping[str, Any]) -> Entry:
    """An entry holding the full derivation of ``spec`` as .html, .tex, .md and .json."""
    from .network import Network
    from .printers.latex import ENGINES

    net = Network.from_dict(dict(spec))
    layers = ", ".join(map(str, net.layers))
    description = f"layers [{layers}], {net.activation(2) if net.L > 2 else '—'} hidden, {net.output} output, " \
                  f"{net.loss.replace('_', '-')} loss"
    return Entry(name, title, partial(derivation_files, dict(spec)), ENGINES[net.language], description)


SLIDES = {"layers": [3, 5, 5, 4], "activation": "sigmoid", "output": "sigmoid", "loss": "cross_entropy"}
"""the 4-layer network of the lecture slides"""


def exercise_entry(name: str, title: str, exercise: str, spec: Mapping[str, Any]) -> Entry:
    """An entry answering ``exercise`` (derive.exercise.EXERCISES) for the network ``spec``, in every format."""
    def files() -> dict[str, str]:
        from .exercise import exercise as answer
        from .network import Network
        from .printers import render

        d = answer(exercise, Network.from_dict(dict(spec)))
        return {suffix: render(d, fmt) for fmt, suffix in FORMATS}
    return Entry(name, title, files, description=f"derive exercise {exercise}")


def example_entry(name: str, title: str, spec: Mapping[str, Any], params: Any, data: Any,
                  claims: Mapping[str, str]) -> Entry:
    """An entry with the worked numeric example of ``spec`` (and a section checking ``claims``)."""
    def files() -> dict[str, str]:
        from .claims import check, section
        from .example import problem, with_claims, worked_example
        from .network import Network
        from .numeric import lambdify
        from .printers import render

        net = Network.from_dict(dict(spec))
        d = worked_example(net, problem(params["Theta"], data["X"], data["Y"]))
        computed = lambdify(net).backward(params["Theta"], data["X"], data["Y"])
        d = with_claims(d, section(check(net, computed, dict(claims), params=params["Theta"])))
        return {suffix: render(d, fmt) for fmt, suffix in FORMATS}
    return Entry(name, title, files, description="derive example, with derive check's claims")


def graph_entry(name: str, title: str, program: str, at: Mapping[str, str]) -> Entry:
    """An entry with the computation graph of ``program`` at the inputs ``at``, in every format."""
    def files() -> dict[str, str]:
        from .graph import graph
        from .printers.graph import render

        g = graph(program, dict(at))
        return {suffix: render(g, fmt) for fmt, suffix in FORMATS}
    return Entry(name, title, files, description="derive graph --at " + " ".join(f"{k}={v}" for k, v in at.items()))


def beamer_entry(name: str, title: str, spec: Mapping[str, Any]) -> Entry:
    """An entry holding the Beamer deck of the derivation of ``spec`` (one .tex)."""
    from .network import Network
    from .printers.latex import ENGINES

    def files() -> dict[str, str]:
        from .derivation import backprop
        from .printers import render

        return {".tex": render(backprop(Network.from_dict(dict(spec))), "beamer")}
    language = Network.from_dict(dict(spec)).language
    return Entry(name, title, files, ENGINES[language], "derive derivation --format beamer")


WORKED = {"Theta": [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]}, {"X": [[0.02, 0.04]], "Y": [[1]]}
"""the worked example's parameters and data (a_1^(2) = g(0.5 + 0.05·0.02 + 0.1·0.04) = g(0.505))"""
LINEAR_GRAPH = "c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n"
RELU_GRAPH = ("z1 = w1 * x + b1\nh1 = relu(z1)\nz2 = w2 * x + b2\nh2 = relu(z2)\n"
              "o = v1 * h1 + v2 * h2 + c\nd = o - y\nJ = d**2 / 2\n")


def grading_entry(name: str, title: str) -> Entry:
    """An entry with the graded example class (derive.grading.example): its report in every format."""
    def files() -> dict[str, str]:
        from .grading.example import lecture_files

        return lecture_files()
    return Entry(name, title, files, description="derive grade examples/grade-net.toml --answers examples/class.csv")


ENTRIES: tuple[Entry, ...] = (
    derivation("backprop-sigmoid-cross-entropy", "Backpropagation: sigmoid + cross-entropy (the slides' network)",
               SLIDES),
    derivation("backprop-sigmoid-cross-entropy-zh", "反向传播：sigmoid + 交叉熵（讲义中的网络）",
               {**SLIDES, "language": "zh"}),
    derivation("backprop-sigmoid-squared-error", "Backpropagation: sigmoid + squared error",
               {**SLIDES, "loss": "squared_error"}),
    derivation("backprop-softmax-cross-entropy", "Backpropagation: softmax + cross-entropy",
               {**SLIDES, "output": "softmax"}),
    beamer_entry("slides-sigmoid-cross-entropy", "Slides (Beamer): sigmoid + cross-entropy", SLIDES),
    beamer_entry("slides-sigmoid-cross-entropy-zh", "幻灯片（Beamer）：sigmoid + 交叉熵", {**SLIDES, "language": "zh"}),
    exercise_entry("exercise-squared-error", "Exercise: the squared error instead of the cross-entropy",
                   "squared-error", SLIDES),
    example_entry("worked-example", "A worked example with numbers (2-2-1 sigmoid network), claims checked",
                  {"layers": [2, 2, 1]}, *WORKED,
                  {"z[2][1]": "0.505", "a[2][1]": "0.6236336", "a[3][1]": "0.53", "J": "0.650"}),
    graph_entry("graph-linear", "Computation graph: a linear unit with squared error", LINEAR_GRAPH,
                {"w": "2", "b": "8", "x": "-2", "y": "2"}),
    graph_entry("graph-relu", "Computation graph: two ReLU units (one of them inactive)", RELU_GRAPH,
                {"x": "1.5", "w1": "0.8", "b1": "-0.2", "w2": "-0.5", "b2": "0.4", "v1": "1.2", "v2": "-0.7",
                 "c": "0.1", "y": "1"}),
    grading_entry("grading-class", "Grading a class: the squared-error exercise's answers, each mistake named"),
)


def build(entries: tuple[Entry, ...] = ENTRIES) -> dict[str, str]:
    """Every file of the set, by file name, the index page included."""
    from .derivation import shared_derivations
    from .progress import track

    files: dict[str, str] = {}
    with shared_derivations():  # the slides' network is derived once for all its documents
        for entry in track(entries, "lecture"):
            for suffix, text in entry.build().items():
                files[entry.name + suffix] = text
    files["index.html"] = index(entries, files)
    return files


def index(entries: tuple[Entry, ...], files: Mapping[str, str]) -> str:
    """The page linking every file of the set."""
    from .printers.html import environment, style
    from .text import catalogue

    words = catalogue("en")
    rows = [(e, sorted((n for n in files if n.startswith(e.name + ".")), key=_link_order)) for e in entries]
    return environment().get_template("index.html.j2").render(
        title=words.word("document", "lecture"), intro=words.word("document", "lecture_intro"), rows=rows,
        style=style())


def _link_order(name: str) -> tuple[int, str]:
    suffixes = [s for _, s in FORMATS]
    suffix = name[name.index("."):]
    return (suffixes.index(suffix) if suffix in suffixes else len(suffixes), name)


def write(out: Path, entries: tuple[Entry, ...] = ENTRIES) -> list[str]:
    """Build the set and put it in ``out``, replacing what was there only once everything is written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, expected a folder")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"--out {out}: folder {parent} does not exist")
    _replaceable(out)
    files = build(entries)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.new-"))
    try:
        for name, text in sorted(files.items()):
            (staging / name).write_bytes(text.encode("utf-8"))
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(files)


def _replaceable(out: Path) -> None:
    """Refuse to replace a folder that cannot be a lecture set (one with folders or hidden files in it, or
    the current folder): the whole folder is swapped for the new set, and nothing else may go with it."""
    if not out.is_dir():
        return
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise InputError(f"--out {out}: is the current folder or holds it; choose a folder of its own, e.g. outputs")
    foreign = sorted(p.name for p in out.iterdir() if p.name.startswith(".") or not p.is_file() or p.is_symlink())
    if foreign:
        raise InputError(f"--out {out}: holds {foreign[0]!r}, which derive lecture never writes, and the folder is "
                         f"replaced as a whole; choose a new folder or a previous lecture set")


def _replace(staging: Path, out: Path) -> None:
    """Swap the finished folder in: the old set is moved aside first and removed last."""
    staging.chmod(0o755)
    if not out.exists():
        staging.rename(out)
        return
    old = Path(tempfile.mkdtemp(dir=out.resolve().parent, prefix=f".{out.name}.old-"))
    old.rmdir()
    out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
