"""The lecture set (SPEC §7): a table of entries, each a name and how to build its files, written
together into one folder with an index page linking everything.

To add a document, add an ``Entry`` to ``ENTRIES``: its ``build`` returns the files' text by suffix.
Every file is built before anything is written; the set goes to a new folder beside the target, which
replaces the target only once it is complete, so a failure half-way loses nothing. Nothing in a file
depends on the time or the machine, so every run writes the same bytes.

Only a folder derive made may be replaced: the set carries a manifest (``MANIFEST``) listing every file
with its size and SHA-256, and a folder is replaced only when it is empty or every file in it is listed
there, unchanged; anything else is refused, untouched. The check runs again right before the swap, and
the swap itself is one step where the system offers it (Linux's renameat2 RENAME_EXCHANGE), so a run
killed at any moment leaves the old set or the new one under the name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from derive.errors import InputError
from derive.io.output import TEMP_PREFIX, exchange, rename_new

if TYPE_CHECKING:
    from derive.engine.derivation import Derivation
    from derive.model.network import Network

try:
    import fcntl
except ImportError:  # not a POSIX system: no locks, so leftovers of killed runs are not cleaned
    fcntl = None  # type: ignore[assignment]

FORMATS: tuple[tuple[str, str], ...] = (("html", ".html"), ("latex", ".tex"), ("markdown", ".md"), ("json", ".json"))
"""the printer and the file suffix of each document of a derivation entry, in the order they are linked"""


@dataclass(frozen=True)
class Entry:
    """One document of the set: ``name`` is the file stem, ``build`` gives {suffix: text}; a suffix starting with
    ``/`` puts the file in a folder of that name (a sheet's files)."""

    name: str
    title: str
    build: Callable[[], Mapping[str, str | bytes]]
    engine: str = "pdflatex"
    """the program that compiles the entry's .tex"""
    description: str = ""
    """the network in words, when the entry is about one"""
    kind: str = "derivation"
    """what the entry is (lecture.about_<kind> in the catalogue says it in words)"""
    language: str = "en"
    """the language of the entry's title and files"""
    companion: str = ""
    """an entry whose web page shows the same content (a deck's derivation)"""
    network: str = ""
    """the network the entry prints, in any language (``same_network``): such entries are built together"""


def same_network(spec: Mapping[str, Any]) -> str:
    """A key naming the network of ``spec`` whatever its language: the entries with one key print one
    derivation (``derived``)."""
    return json.dumps({k: v for k, v in spec.items() if k != "language"}, sort_keys=True)


def derived(net: Network) -> Derivation:
    """The derivation of ``net``'s mathematics, once per build of the set: every language and notation of the
    same network prints this one Derivation (the words and symbols are the printer's settings)."""
    return _derive(net.replace(language="en", notation="ng"))


@lru_cache(maxsize=8)
def _derive(net: Network) -> Derivation:
    if hasattr(net, "stack"):  # a layered network (SPEC §9)
        from derive.layers.derivation import backprop as layered

        return layered(net.replace(language="en", notation="ng"))  # type: ignore[arg-type]
    from derive.engine.backprop import backprop

    return backprop(net.replace(language="en", notation="ng"))


def network(spec: Mapping[str, Any]) -> Any:
    """The Network (SPEC §2) or LayeredNetwork (SPEC §9) that ``spec`` describes."""
    from derive.layers import LayeredNetwork, is_layered
    from derive.model.network import Network

    return LayeredNetwork.from_dict(dict(spec)) if is_layered(spec) else Network.from_dict(dict(spec))


def derivation_files(spec: Mapping[str, Any]) -> dict[str, str]:
    """The derivation of the network ``spec`` in every document format."""
    net = network(spec)
    return _in_every_format(derived(net), language=net.language, notation=net.notation)


def _in_every_format(product: Any, **settings: Any) -> dict[str, str]:
    """The product's files by suffix, one per format of FORMATS (its Document built once)."""
    from derive.render import render_all

    printed = render_all(product, [fmt for fmt, _ in FORMATS], **settings)
    return {suffix: printed[fmt] for fmt, suffix in FORMATS}


def derivation(name: str, title: str, spec: Mapping[str, Any]) -> Entry:
    """An entry holding the full derivation of ``spec`` as .html, .tex, .md and .json."""
    from derive.model.network import Network
    from derive.render.latex import ENGINES

    net = Network.from_dict(dict(spec))
    layers = ", ".join(map(str, net.layers))
    from derive.catalogue import catalogue

    description = catalogue(net.language).word("lecture", "network", layers=layers, output=net.output,
                                               activation=net.activation(2) if net.L > 2 else "—", loss=net.loss)
    return Entry(name, title, partial(derivation_files, dict(spec)), ENGINES[net.language], description,
                 language=net.language, network=same_network(spec))


SLIDES = {"layers": [3, 5, 5, 4], "activation": "sigmoid", "output": "sigmoid", "loss": "cross_entropy"}
"""the 4-layer network of the lecture slides"""


def exercise_entry(name: str, title: str, exercise: str, spec: Mapping[str, Any]) -> Entry:
    """An entry answering ``exercise`` (derive.document.exercise.EXERCISES) for the network ``spec``, in every
    format."""
    def files() -> dict[str, str]:
        from derive.document.exercise import exercise as answer
        from derive.model.network import Network

        return _in_every_format(answer(exercise, Network.from_dict(dict(spec))))
    return Entry(name, title, files, kind="exercise")


def example_entry(name: str, title: str, spec: Mapping[str, Any], params: Any, data: Any,
                  claims: Mapping[str, str]) -> Entry:
    """An entry with the worked numeric example of ``spec`` (and a section checking ``claims``)."""
    def files() -> dict[str, str]:
        from derive.document.claims import check, section
        from derive.document.worked_example import problem, with_claims, worked_example
        from derive.engine.numeric import lambdify
        from derive.model.network import Network

        net = Network.from_dict(dict(spec))
        d = worked_example(net, problem(params["Theta"], data["X"], data["Y"]))
        computed = lambdify(net).backward(params["Theta"], data["X"], data["Y"])
        return _in_every_format(with_claims(d, section(check(net, computed, dict(claims), params=params["Theta"]))))
    return Entry(name, title, files, kind="example")


def graph_entry(name: str, title: str, program: str, at: Mapping[str, str], data: tuple[str, ...] = ()) -> Entry:
    """An entry with the computation graph of ``program`` at the inputs ``at`` (``data``: the data inputs)."""
    def files() -> dict[str, str]:
        from derive.engine.computation_graph import graph

        return _in_every_format(graph(program, dict(at), data=data))
    return Entry(name, title, files, kind="graph")


def beamer_entry(name: str, title: str, spec: Mapping[str, Any], companion: str = "") -> Entry:
    """An entry holding the Beamer deck of the derivation of ``spec`` (one .tex); ``companion`` names the entry
    whose web page shows the same derivation."""
    from derive.render.latex import ENGINES

    def files() -> dict[str, str]:
        from derive.render import render

        net = network(spec)
        return {".tex": render(derived(net), "beamer", language=net.language, notation=net.notation)}
    language = network(spec).language
    return Entry(name, title, files, ENGINES[language], kind="beamer", language=language, companion=companion,
                 network=same_network(spec))


def layered_entry(name: str, title: str, spec: Mapping[str, Any]) -> Entry:
    """An entry holding the full derivation of the layered network ``spec`` (SPEC §9) in every format."""
    from derive.render.latex import ENGINES

    net = network(spec)
    layers = ", ".join(_layer_words(layer) for layer in net.stack)
    description = f"input [{', '.join(map(str, net.input))}]; {layers}; {net.loss.replace('_', '-')} loss"
    return Entry(name, title, partial(derivation_files, dict(spec)), ENGINES[net.language], description,
                 language=net.language, network=same_network(spec))


def _layer_words(layer: Any) -> str:
    cfg = layer.config
    said = {"conv2d": f" {cfg.get('channels')}×{cfg.get('kernel')}×{cfg.get('kernel')}",
            "dense": f" {cfg.get('units')}", "maxpool": f" {cfg.get('size')}", "meanpool": f" {cfg.get('size')}",
            "attention": f" dk={cfg.get('dk')} dv={cfg.get('dv')}" + (" causal" if cfg.get("causal") else ""),
            "rnn": f" {cfg.get('units')}", "lstm": f" {cfg.get('units')}"}
    words = layer.kind + said.get(layer.kind, "")
    return words + (f" {layer.activation}" if layer.activation and layer.activation != "linear" else "")


CNN = {"input": [1, 6, 6], "loss": "cross_entropy", "layer": [
    {"kind": "conv2d", "channels": 2, "kernel": 3, "activation": "relu"},
    {"kind": "maxpool", "size": 2},
    {"kind": "flatten"},
    {"kind": "dense", "units": 3, "activation": "softmax"}]}
"""the CNN lecture's network (issue 15): one 3 × 3 convolution of two channels, max pooling, a softmax layer"""
BATCHNORM = {"input": [4], "loss": "cross_entropy", "layer": [
    {"kind": "dense", "units": 3},
    {"kind": "batchnorm"},
    {"kind": "dense", "units": 3, "activation": "relu"},
    {"kind": "dense", "units": 2, "activation": "softmax"}]}
"""the batch-norm lecture's network: batch norm between two dense layers, a softmax layer at the end"""
ATTENTION = {"input": [4, 3], "loss": "cross_entropy",
             "layer": [{"kind": "attention", "dk": 2, "dv": 3, "causal": True},
                       {"kind": "dense", "units": 2, "activation": "softmax"}]}
"""the attention lecture's network: causal self-attention over 4 steps, then a softmax classifier at every step"""
RNN_LECTURE = {"input": [4, 3], "loss": "cross_entropy",
               "layer": [{"kind": "rnn", "units": 3, "returns": "sequence"},
                         {"kind": "dense", "units": 2, "activation": "softmax"}]}
"""the BPTT lecture's network: a tanh rnn over T = 4 steps of 3 inputs, a softmax over 2 classes at every step"""

WORKED = {"Theta": [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]}, {"X": [[0.02, 0.04]], "Y": [[1]]}
"""the worked example's parameters and data (a_1^(2) = g(0.5 + 0.05·0.02 + 0.1·0.04) = g(0.505))"""
LINEAR_GRAPH = "c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n"
LOGISTIC_GRAPH = "z = w*x + b\na = sigmoid(z)\nJ = -(y*log(a) + (1-y)*log(1-a))\n"
RELU_GRAPH = ("z1 = w1 * x + b1\nh1 = relu(z1)\nz2 = w2 * x + b2\nh2 = relu(z2)\n"
              "o = v1 * h1 + v2 * h2 + c\nd = o - y\nJ = d**2 / 2\n")


def grading_entry(name: str, title: str) -> Entry:
    """An entry with the graded example class (derive.grading.example_class): its report in every format."""
    def files() -> dict[str, str]:
        from derive.grading.example_class import lecture_files

        return lecture_files()
    return Entry(name, title, files, kind="grading")


def sheet_entry(name: str, title: str, spec: Mapping[str, Any], *, variants: int, seed: int) -> Entry:
    """An entry holding an exercise sheet folder (derive sheet): its files under ``name/``."""
    def files() -> dict[str, str | bytes]:
        from derive.model.network import Network
        from derive.sheet.files import sheet_files
        from derive.sheet.variants import make_sheet

        net = Network.from_dict(dict(spec))
        return {"/" + n: data for n, data in sheet_files(make_sheet(net, count=variants, seed=seed)).items()}
    return Entry(name, title, files, kind="sheet", description=f"{variants}")


ENTRIES: tuple[Entry, ...] = (
    derivation("backprop-sigmoid-cross-entropy", "Backpropagation: sigmoid + cross-entropy (the slides' network)",
               SLIDES),
    derivation("backprop-sigmoid-cross-entropy-zh", "反向传播：sigmoid + 交叉熵（讲义中的网络）",
               {**SLIDES, "language": "zh"}),
    derivation("backprop-sigmoid-squared-error", "Backpropagation: sigmoid + squared error",
               {**SLIDES, "loss": "squared_error"}),
    derivation("backprop-softmax-cross-entropy", "Backpropagation: softmax + cross-entropy",
               {**SLIDES, "output": "softmax"}),
    beamer_entry("slides-sigmoid-cross-entropy", "Slides (Beamer): sigmoid + cross-entropy", SLIDES,
                 "backprop-sigmoid-cross-entropy"),
    beamer_entry("slides-sigmoid-cross-entropy-zh", "幻灯片（Beamer）：sigmoid + 交叉熵", {**SLIDES, "language": "zh"},
                 "backprop-sigmoid-cross-entropy-zh"),
    exercise_entry("exercise-squared-error", "Exercise: the squared error instead of the cross-entropy",
                   "squared-error", SLIDES),
    example_entry("worked-example", "A worked example with numbers (2-2-1 sigmoid network), claims checked",
                  {"layers": [2, 2, 1]}, *WORKED,
                  {"z[2][1]": "0.505", "a[2][1]": "0.6236336", "a[3][1]": "0.53", "J": "0.650"}),
    graph_entry("graph-linear", "Computation graph: a linear unit with squared error", LINEAR_GRAPH,
                {"w": "2", "b": "8", "x": "-2", "y": "2"}, ("x", "y")),
    graph_entry("graph-logistic", "Computation graph: logistic regression", LOGISTIC_GRAPH,
                {"w": "0.5", "b": "-0.2", "x": "1.5", "y": "1"}, ("x", "y")),
    graph_entry("graph-relu", "Computation graph: two ReLU units (one of them inactive)", RELU_GRAPH,
                {"x": "1.5", "w1": "0.8", "b1": "-0.2", "w2": "-0.5", "b2": "0.4", "v1": "1.2", "v2": "-0.7",
                 "c": "0.1", "y": "1"}, ("x", "y")),
    layered_entry("cnn", "A convolutional network: conv 2×3×3 ReLU, 2×2 max pool, flatten, softmax", CNN),
    layered_entry("cnn-zh", "卷积神经网络：2×3×3 卷积 + ReLU，2×2 最大池化，展平，softmax", {**CNN, "language": "zh"}),
    beamer_entry("slides-cnn", "Slides (Beamer): the convolutional network", CNN, "cnn"),
    beamer_entry("slides-cnn-zh", "幻灯片（Beamer）：卷积神经网络", {**CNN, "language": "zh"}, "cnn-zh"),
    layered_entry("batchnorm", "Batch normalization between dense layers: the three-term formula", BATCHNORM),
    layered_entry("batchnorm-zh", "批归一化（全连接层之间）：三项公式", {**BATCHNORM, "language": "zh"}),
    beamer_entry("slides-batchnorm", "Slides (Beamer): batch normalization", BATCHNORM, "batchnorm"),
    beamer_entry("slides-batchnorm-zh", "幻灯片（Beamer）：批归一化", {**BATCHNORM, "language": "zh"}, "batchnorm-zh"),
    layered_entry("attention", "Attention: causal self-attention, a softmax at every step", ATTENTION),
    layered_entry("attention-zh", "注意力：因果自注意力，每一步一个 softmax", {**ATTENTION, "language": "zh"}),
    beamer_entry("slides-attention", "Slides (Beamer): self-attention", ATTENTION, "attention"),
    beamer_entry("slides-attention-zh", "幻灯片（Beamer）：自注意力", {**ATTENTION, "language": "zh"}, "attention-zh"),
    grading_entry("grading-class", "Grading a class: the squared-error exercise's answers, each mistake named"),
    layered_entry("rnn-bptt", "Recurrent network: backpropagation through time (tanh rnn, softmax at every step)",
                  RNN_LECTURE),
    layered_entry("rnn-bptt-zh", "循环神经网络：随时间反向传播（tanh RNN，每一步 softmax）",
                  {**RNN_LECTURE, "language": "zh"}),
    beamer_entry("slides-rnn-bptt", "Slides (Beamer): backpropagation through time", RNN_LECTURE, "rnn-bptt"),
    beamer_entry("slides-rnn-bptt-zh", "幻灯片（Beamer）：随时间反向传播", {**RNN_LECTURE, "language": "zh"},
                 "rnn-bptt-zh"),
    sheet_entry("sheet-example", "An exercise sheet: three variants of the slides' network, keys and quizzes", SLIDES,
                variants=3, seed=2026),
)


def build(entries: tuple[Entry, ...] = ENTRIES, *, workers: int | None = None) -> dict[str, str | bytes]:
    """Every file of the set, by file name, the index page included.

    The entries are built in groups (``_groups``: the entries printing one network together, so that it is
    derived once), here and, with ``workers`` > 1, in as many processes in all: up to ``workers`` − 1 fresh
    Python processes (``serve``) take groups of the set's own entries as they become free. Their files are
    put together in entry order, so the bytes do not depend on who built what; a group a worker could not
    build is built again here, where its error is raised as it would be without workers. ``workers``
    defaults to the cores this process may use, at most ``MAX_WORKERS``, and ``$DERIVE_WORKERS`` when set."""
    from derive.io.progress import task

    groups = _groups(entries)
    count = min(len(groups), _workers() if workers is None else workers)
    files: dict[str, str | bytes] = {}
    built: dict[str, Mapping[str, str | bytes]] = {}
    took: dict[str, float] = {}
    try:
        with task("lecture", total=len(entries)) as advance:
            if count > 1:
                _build_in_processes(_longest_first(groups), count - 1, built, took, advance)
            else:
                for group in groups:
                    _build_here(group, built, took, advance)
        _remember(took)
        for entry in entries:
            for suffix, text in built[entry.name].items():
                files[entry.name + suffix] = text
    finally:
        _derive.cache_clear()
    files["index.html"] = index(entries, files)
    return files


MAX_WORKERS = 8
"""the most processes a build of the set runs in"""
WORKER_PATIENCE = 300.0
"""seconds a worker may still take over its last group once everything else is built; then it is stopped and
its group built here"""


def _workers() -> int:
    setting = os.environ.get("DERIVE_WORKERS", "")
    if setting.isdigit() and int(setting) > 0:
        return min(int(setting), MAX_WORKERS)
    from derive.io.cores import usable_cores

    return min(usable_cores(), MAX_WORKERS)


def _groups(entries: tuple[Entry, ...]) -> list[tuple[Entry, ...]]:
    """The entries in groups, in the order of their first entry: those printing the same network together."""
    groups: dict[str, list[Entry]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(entry.network or f"#{i}", []).append(entry)
    return [tuple(g) for g in groups.values()]


def _build_here(group: tuple[Entry, ...], built: dict[str, Mapping[str, str | bytes]], took: dict[str, float],
                advance: Callable[..., None]) -> None:
    for entry in group:
        started = time.perf_counter()
        built[entry.name] = entry.build()
        took[entry.name] = time.perf_counter() - started
        advance()


DURATIONS = "lecture-durations.json"
"""the file in derive's cache folder (derive.io.output.cache_folder) holding how long each entry took to build
last time: the groups are handed out longest first, so that no process is left with a long one at the end"""


def _longest_first(groups: list[tuple[Entry, ...]]) -> list[tuple[Entry, ...]]:
    """The groups by the time they took last time, longest first (in their order where nothing is known)."""
    from derive.io.output import cache_folder

    folder = cache_folder()
    try:
        known = json.loads((folder / DURATIONS).read_bytes()) if folder is not None else {}
        seconds = {str(k): float(v) for k, v in known.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return groups
    return sorted(groups, key=lambda g: -sum(seconds.get(e.name, 0.0) for e in g))


def _remember(took: Mapping[str, float]) -> None:
    from derive.io.output import cache_folder, replace_in_cache

    folder = cache_folder()
    if folder is not None and took:
        data = json.dumps({k: round(v, 3) for k, v in sorted(took.items())}, indent=0) + "\n"
        replace_in_cache(folder / DURATIONS, data.encode("ascii"))


def _build_in_processes(groups: list[tuple[Entry, ...]], children: int, built: dict[str, Mapping[str, str | bytes]],
                        took: dict[str, float], advance: Callable[..., None]) -> None:
    """Build the groups here and in ``children`` worker processes, each taking the next group when free."""
    import subprocess
    import threading
    from collections import deque

    ours = {id(e) for e in ENTRIES}
    waiting = deque(g for g in groups if all(id(e) in ours for e in g))  # a worker knows the set's own entries
    local = [g for g in groups if not all(id(e) in ours for e in g)]
    lock = threading.Lock()
    again: list[tuple[Entry, ...]] = []

    def take() -> tuple[Entry, ...] | None:
        with lock:
            return waiting.popleft() if waiting else None

    def feed(worker: subprocess.Popen[bytes]) -> None:
        assert worker.stdin is not None and worker.stdout is not None
        while (group := take()) is not None:
            try:
                worker.stdin.write((json.dumps([e.name for e in group]) + "\n").encode())
                worker.stdin.flush()
                size = int.from_bytes(_read(worker.stdout, 8), "big")
                if size == 0:
                    raise EOFError("the worker could not build the group")
                results, seconds = _decoded(_read(worker.stdout, size))
                if set(results) != {e.name for e in group}:
                    raise ValueError("the worker answered for other entries")
            except Exception:  # noqa: BLE001  # a worker that ended or answered nonsense: built here
                with lock:
                    again.append(group)
                return
            with lock:
                built.update(results)
                took.update(seconds)
            advance(len(group))

    procs: list[subprocess.Popen[bytes]] = []
    threads = []
    finished = False
    try:
        for _ in range(children if waiting else 0):
            try:
                worker = subprocess.Popen(_worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, env=_worker_environment())
            except OSError:  # no interpreter to start (an embedded Python): the groups are built here
                break
            procs.append(worker)
            threads.append(threading.Thread(target=feed, args=(worker,), daemon=True))
            threads[-1].start()
        for group in local:
            _build_here(group, built, took, advance)
        while (next_group := take()) is not None:
            _build_here(next_group, built, took, advance)
        for worker in procs:
            _close(worker.stdin)  # a worker ends when its input does, once it has answered
        for worker, thread in zip(procs, threads):
            thread.join(WORKER_PATIENCE)
            if thread.is_alive():  # a worker stuck in its group: stopped, and the group built here
                worker.kill()
                thread.join()
        for group in again:
            _build_here(group, built, took, advance)
        finished = True
    finally:
        for worker in procs:
            _close(worker.stdin)
            try:
                worker.wait(timeout=5 if finished else 0)
            except subprocess.TimeoutExpired:  # still building what nobody will read
                worker.kill()
                worker.wait()
            _close(worker.stdout)


def _close(stream: Any) -> None:
    try:
        stream.close()
    except OSError:
        pass


def _encoded(files: Mapping[str, Mapping[str, str | bytes]], took: Mapping[str, float]) -> bytes:
    """A worker's answer as JSON: every file's text, or its bytes in base64 (a sheet's files)."""
    def one(data: str | bytes) -> list[str]:
        return ["text", data] if isinstance(data, str) else ["base64", base64.b64encode(data).decode("ascii")]

    answer = {"files": {name: {suffix: one(data) for suffix, data in made.items()} for name, made in files.items()},
              "took": dict(took)}
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


def _decoded(data: bytes) -> tuple[dict[str, dict[str, str | bytes]], dict[str, float]]:
    """A worker's answer read back (``_encoded``); anything else raises."""
    answer = json.loads(data)

    def one(kind: str, value: str) -> str | bytes:
        if kind == "text":
            return value
        if kind == "base64":
            return base64.b64decode(value, validate=True)
        raise ValueError(f"a worker's file of kind {kind!r}")

    files = {str(name): {str(suffix): one(*pair) for suffix, pair in made.items()}
             for name, made in answer["files"].items()}
    return files, {str(name): float(s) for name, s in answer["took"].items()}


def _read(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the worker ended")
    return data  # type: ignore[no-any-return]


def _worker_command() -> list[str]:
    import sys

    return [sys.executable, "-c", "from derive.document.lecture_set import serve; serve()"]


def _worker_environment() -> dict[str, str]:
    """This environment, with the folder this derive was imported from first on the path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else ""), "DERIVE_WORKERS": "1"}


def serve() -> None:
    """A worker of ``build``: reads lines naming entries of the set (a JSON list), builds each line's entries
    and answers with the length (8 bytes) and the JSON of its files and durations (``_encoded``), or with the
    length 0 when the build failed. Ends at the end of its input."""
    import sys

    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes where errors go, not into the answers
    by_name = {e.name: e for e in ENTRIES}
    for line in sys.stdin.buffer:
        try:
            results: dict[str, Mapping[str, str | bytes]] = {}
            took: dict[str, float] = {}
            group = tuple(by_name[name] for name in json.loads(line))
            _build_here(group, results, took, lambda *args: None)
            data = _encoded(results, took)
        except Exception:  # noqa: BLE001  # the parent builds the group again and reports the error
            data = b""
        answer.write(len(data).to_bytes(8, "big") + data)
        answer.flush()


def index(entries: tuple[Entry, ...], files: Mapping[str, str | bytes]) -> str:
    """The page linking every file of the set: a Document of one table, printed as HTML."""
    from derive.catalogue import catalogue
    from derive.document import Document, Link, Meta, Paragraph, Section, Table, Text
    from derive.document.words import paragraph
    from derive.render import render

    words = catalogue("en")
    rows = []
    for e in entries:
        own = catalogue(e.language)
        names = sorted((n for n in files if n.startswith((e.name + ".", e.name + "/"))), key=_link_order)
        opened = next((n for n in names if n.endswith(".html")), f"{e.companion}.html" if e.companion else "")
        about = own.word("lecture", f"about_{e.kind}", network=e.description)
        title: Link | Text = Link(e.title, opened) if opened else Text(e.title)
        links: list[Link | Text] = []
        for name in names:
            suffix = name.rsplit(".", 1)[1]
            key = "beamer" if e.kind == "beamer" and suffix == "tex" else suffix
            links += [Text(" · ")] if links else []
            said = (name.split("/", 1)[1] if "/" in name  # a folder's file: its own name
                    else own.word("lecture", key, engine=e.engine) if key in own.table["lecture"] else suffix)
            links.append(Link(said, name))
        if e.companion:
            links += [Text(" · "), Link(own.word("lecture", "companion"), f"{e.companion}.html")]
        rows.append((Paragraph((title, Text(" — " + about)), e.language), Paragraph(tuple(links), e.language)))
    table = Table((paragraph(words.word("lecture", "document")), paragraph(words.word("lecture", "files"))),
                  tuple(rows))
    doc = Document(Meta(words.word("document", "lecture")), paragraph(words.word("document", "lecture_intro")),
                   (Section("index", Paragraph(()), (table,)),))
    return render(doc, "html")


def _link_order(name: str) -> tuple[int, str]:
    suffixes = [s for _, s in FORMATS]
    if "/" in name:  # a folder's files, in name order after the documents
        return (len(suffixes) + 1, name)
    suffix = name[name.index("."):]
    return (suffixes.index(suffix) if suffix in suffixes else len(suffixes), name)


MANIFEST = "derive-manifest.json"
"""the file naming every file of a set derive lecture wrote, with its size and SHA-256"""
STAGING = TEMP_PREFIX + "lecture-"
"""the prefix of the folders a run builds the set in (and, after the swap, removes the old set from)"""
MAX_MANIFEST = 1_000_000
"""bytes: a larger manifest is not derive's"""
LECTURE = "derive lecture"
"""the writer named in the lecture set's manifest"""


def manifest(files: Mapping[str, bytes], by: str = LECTURE) -> bytes:
    """The manifest of ``files`` (name → bytes): every file with its size and SHA-256, in name order; ``by``
    names the command that wrote them (only that command replaces the folder)."""
    rows = [f"  {json.dumps(name, ensure_ascii=False)}: "
            f"{json.dumps({'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()})}"
            for name, data in sorted(files.items())]
    note = f"{by} replaces this folder only while every file in it is listed here, unchanged"
    text = '{\n "written_by": %s,\n "note": %s,\n "files": {\n%s\n }\n}\n' % (
        json.dumps(by), json.dumps(note), ",\n".join(rows))
    return text.encode("utf-8")


def write(out: Path, entries: tuple[Entry, ...] = ENTRIES) -> list[str]:
    """Build the set and put it in ``out``, replacing what was there only once everything is written, and
    only when it is empty or a set derive wrote (see the module's docstring). Returns the files' names."""
    return write_folder(out, lambda: {name: text.encode("utf-8") if isinstance(text, str) else text
                                      for name, text in build(entries).items()})


def write_folder(out: Path, make: Callable[[], Mapping[str, bytes]], *, by: str = LECTURE) -> list[str]:
    """Put the files ``make`` returns (name → bytes; a name may hold folders, a/b.tex) in the folder ``out``
    with their manifest, replacing what was there only once everything is written, and only when it is empty
    or a folder ``by`` wrote, unchanged (see the module's docstring). ``out`` is checked before ``make`` runs.
    Returns the files' names."""
    out = Path(out)
    target = _target(out)
    _refuse_foreign(out, target, by=by)
    try:
        _clean_leftovers(target.parent)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=STAGING))
    except OSError as e:
        raise InputError(f"--out {out}: cannot write in {target.parent} ({e.strerror or e})") from None
    lock = None
    try:
        try:
            lock = _lock(staging)  # from now on, another run's cleaning leaves the folder alone
        except OSError as e:
            raise InputError(f"--out {out}: cannot write in {target.parent} ({e.strerror or e})") from None
        files = dict(make())
        files[MANIFEST] = manifest(files, by)
        try:
            for name in [MANIFEST] + sorted(set(files) - {MANIFEST}):  # the manifest first: a leftover is ours
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(files[name])
            _keep_mode(staging, target)
            _swap(out, target, staging, by)
        except OSError as e:
            raise InputError(f"--out {out}: cannot write ({e.strerror or e})") from None
    except BaseException:
        _remove(staging, partial=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    return sorted(files)


def _target(out: Path) -> Path:
    """The folder ``out`` names, a symbolic link followed deliberately (the link itself stays); refuses what
    can never hold a set: a file, a link to nothing, a mount point, the current folder or one holding it."""
    try:
        if out.is_symlink() and not out.exists():
            raise InputError(f"--out {out}: is a link to {os.readlink(out)!r}, which does not exist; give a folder")
        target = Path(os.path.realpath(out))
        if target.exists() and not target.is_dir():
            raise InputError(f"--out {out}: is a file, expected a folder")
        if not target.parent.is_dir():
            raise InputError(f"--out {out}: folder {target.parent} does not exist")
        if target.is_dir() and os.path.ismount(target):
            raise InputError(f"--out {out}: is a mount point, which cannot be replaced; give a folder inside it")
    except OSError as e:
        raise InputError(f"--out {out}: cannot use this path ({e.strerror or e})") from None
    here = Path.cwd().resolve()
    if target == here or target in here.parents:
        raise InputError(f"--out {out}: is the current folder or holds it; choose a folder of its own, e.g. outputs")
    return target


def _refuse_foreign(out: Path, target: Path, *, during: bool = False, by: str = LECTURE) -> None:
    """Refuse ``target`` unless it is missing, empty or a folder ``by`` wrote, unchanged."""
    if not os.path.lexists(target):
        return
    reason = _foreign(target, by=by)
    if reason and during:
        raise _changed(out, reason, by)
    if reason:
        raise InputError(f"--out {out}: {reason}; {by} replaces only an empty folder or a folder it wrote "
                         f"(every file listed in {MANIFEST}, unchanged): choose a new folder")


def _foreign(folder: Path, *, partial: bool = False, by: str | None = LECTURE) -> str | None:
    """Why ``folder`` is not ``by``'s to replace, or None when it is empty or a folder ``by`` wrote, unchanged
    (``by`` None: any command's, for a staging folder).

    With ``partial`` (a staging folder of a killed run) a listed file may be shorter than listed."""
    try:
        names, folders = _contents(folder)
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if not names and not folders:
        return None
    writer = by or "derive"
    if MANIFEST not in names:
        shown = (names or folders)[0]
        return f"holds {shown!r} and no {MANIFEST}, so {writer} did not write it"
    written = _listed(folder / MANIFEST)
    if written is None or (by is not None and written[0] != by):
        return f"its {MANIFEST} is not one {writer} wrote"
    listed = written[1]
    for name in folders:  # a folder is derive's while a listed file lives in it
        if not any(n.startswith(name + "/") for n in listed) or os.path.islink(folder / name):
            return f"holds {name!r}, which {writer} did not write"
    for name in names:
        if name == MANIFEST:
            continue
        path = folder / name
        try:
            st = path.lstat()
        except OSError:
            return f"holds {name!r}, which cannot be read"
        if name not in listed or not stat.S_ISREG(st.st_mode):
            return f"holds {name!r}, which {writer} did not write"
        size, digest = listed[name]
        if partial and st.st_size < size:
            continue
        if st.st_size != size or _sha256(path) != digest:
            return f"holds {name!r}, changed since {writer} wrote it"
    return None


def _contents(folder: Path) -> tuple[list[str], list[str]]:
    """(every file and link, every folder) inside ``folder``, as sorted paths relative to it (a/b.tex); links to
    folders are not followed."""
    names, folders = [], []
    for root, dirs, files in os.walk(folder, onerror=_raise):
        here = Path(root).relative_to(folder)
        for d in list(dirs):
            relative = (here / d).as_posix()
            if os.path.islink(Path(root) / d):
                names.append(relative)
                dirs.remove(d)
            else:
                folders.append(relative)
        names += [(here / f).as_posix() for f in files]
    return sorted(names), sorted(folders)


def _raise(error: OSError) -> None:
    raise error


def _listed(path: Path) -> tuple[str, dict[str, tuple[int, str]]] | None:
    """(the writer, {name: (size, sha256)}) from a manifest, or None when it is not a manifest derive wrote."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode) or path.lstat().st_size > MAX_MANIFEST:
            return None
        doc = json.loads(path.read_bytes())
        files = doc["files"]
        return str(doc.get("written_by", LECTURE)), {str(name): (int(v["bytes"]), str(v["sha256"]))
                                                     for name, v in files.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(folder: Path, *, partial: bool = False) -> None:
    """Remove a folder derive wrote (checked again first): its listed files, the manifest last, then the
    folder. Anything not derive's stays; a folder gone meanwhile is fine."""
    try:
        if _foreign(folder, partial=partial, by=None):
            return
        names, folders = _contents(folder)
        for name in names:
            if name != MANIFEST:
                (folder / name).unlink(missing_ok=True)
        for name in reversed(folders):  # the innermost first
            (folder / name).rmdir()
        (folder / MANIFEST).unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        pass


def _lock(folder: Path) -> int | None:
    """Hold a lock on the staging folder while this run uses it (a later run's cleaning leaves it alone)."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _clean_leftovers(parent: Path) -> None:
    """Remove staging folders that killed runs left in ``parent``: unlocked, derive's prefix, derive's files."""
    if fcntl is None:
        return
    for entry in os.scandir(parent):
        if not entry.name.startswith(STAGING) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _remove(Path(entry.path), partial=True)
        except OSError:  # locked: another run is using it
            pass
        finally:
            os.close(fd)


def _keep_mode(staging: Path, target: Path) -> None:
    """Give the new set the old folder's permissions (and owner), or a new folder's (0o777 less the umask)."""
    try:
        st = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        return
    staging.chmod(stat.S_IMODE(st.st_mode))
    if hasattr(os, "geteuid") and os.geteuid() == 0 and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        os.chown(staging, st.st_uid, st.st_gid)


def _swap(out: Path, target: Path, staging: Path, by: str) -> None:
    """Put the finished ``staging`` folder under ``target``'s name; the old folder, checked again right before
    and right after the swap, is removed last (a folder changed meanwhile is swapped back and refused)."""
    _refuse_foreign(out, target, during=True, by=by)
    if not os.path.lexists(target):
        try:
            rename_new(staging, target)
        except FileExistsError:
            raise InputError(f"--out {out}: was made while the set was built; left as it is, run again") from None
        return
    if exchange(staging, target):  # staging now holds the old folder
        reason = _foreign(staging, by=by)
        if reason:  # changed in the instant between the check and the swap: put it back
            exchange(staging, target)
            raise _changed(out, reason, by)
        _remove(staging)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=STAGING))  # no exchange here: two renames
    old.rmdir()
    os.rename(target, old)
    try:
        rename_new(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    reason = _foreign(old, by=by)
    if reason:
        os.rename(target, staging)
        os.rename(old, target)
        raise _changed(out, reason, by)
    _remove(old)


def _changed(out: Path, reason: str, by: str = LECTURE) -> InputError:
    return InputError(f"--out {out}: {reason} (it changed while the set was built); {by} replaces only "
                      f"an empty folder or a folder it wrote (every file listed in {MANIFEST}, unchanged): choose a "
                      "new folder")
