"""The documents of the lecture set, read as Documents (every entry built, the Document each format prints
captured): rules that hold in every one of them, and the exercise's, the worked example's and the index
page's own defects of issue 14, each asserted so that it would fail again."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import derive.render as rendering
from derive.document import Document, EquationGroup, Math, Notes, Text
from derive.document.lecture_set import ENTRIES, index
from derive.document.words import plain


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, Document], dict[str, str]]:
    """Every entry's Document (the first its printers were given) and every file of the set."""
    documents: dict[str, Document] = {}
    files: dict[str, str] = {}
    current = [""]
    original = rendering.document

    def spy(product, **presentation):
        doc = original(product, **presentation)
        documents.setdefault(current[0], doc)
        return doc

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rendering, "document", spy)
        for entry in ENTRIES:
            current[0] = entry.name
            for suffix, text in entry.build().items():
                files[entry.name + suffix] = text
    return documents, files


def _formulas(doc: Document):
    """Every formula of the document: each side of each line, and the mathematics in its words."""
    for section in doc.sections:
        for eq in section.equations:
            yield eq.lhs
            for line in eq.lines:
                yield line.rhs
                for p in (line.words, line.note):
                    yield from (r.tex for r in (p.runs if p else ()) if isinstance(r, Math))
        for p in section.notes:
            yield from (r.tex for r in p.runs if isinstance(r, Math))


def _fractions(tex: str):
    """(numerator, denominator) of every \\frac in tex, outermost first."""
    at = 0
    while (at := tex.find(r"\frac{", at)) >= 0:
        parts, pos = [], at + 5
        for _ in range(2):
            depth, start = 0, pos
            while True:
                depth += {"{": 1, "}": -1}.get(tex[pos], 0)
                pos += 1
                if depth == 0:
                    break
            parts.append(tex[start + 1:pos - 1])
        yield tuple(parts)
        at += 5


def test_tags_are_unique_in_every_document(built):
    documents, _ = built
    for name, doc in documents.items():
        tags = [eq.tag for s in doc.sections if not s.repeats for eq in s.equations if eq.tag]
        assert len(tags) == len(set(tags)), f"{name}: tags {tags}"
    slides = documents["backprop-sigmoid-cross-entropy"]
    assert len([eq for s in slides.sections if not s.repeats for eq in s.equations if eq.tag]) == 6


def test_no_note_is_said_twice(built):
    """Each note once in a document, and no two notes of a section that differ only in their mathematics (the
    same sentence said for each end of a range)."""
    documents, _ = built
    for name, doc in documents.items():
        notes = [p for s in doc.sections if not s.repeats for p in s.notes]
        assert len(notes) == len(set(notes)), f"{name}: a note repeated"
        for s in doc.sections:
            words = ["".join(r.text for r in p.runs if isinstance(r, Text)) for p in s.notes]
            assert len(words) == len(set(words)), f"{name}, {s.id}: two notes differ only in their mathematics"


def test_numbers_are_decimals(built):
    """A number a document computes is a decimal (0.009801), never a fraction of a power of ten."""
    documents, _ = built
    for name, doc in documents.items():
        for tex in _formulas(doc):
            for num, den in _fractions(tex):
                if num.strip("- ").isdigit() and den.isdigit():
                    assert not re.fullmatch(r"10+", den.strip()), f"{name}: \\frac{{{num}}}{{{den}}} in {tex}"
        for s in doc.sections:
            for p in s.notes:
                assert not re.search(r"\d/\d{2,}", plain(p)), f"{name}: {plain(p)}"


def test_no_fraction_inside_a_fraction_or_a_matrix(built):
    """A fraction within a fraction, in a limit's subscript or in a matrix is set in script size."""
    documents, _ = built
    for name, doc in documents.items():
        for tex in _formulas(doc):
            for num, den in _fractions(tex):
                assert r"\frac" not in num + den, f"{name}: a fraction in a fraction: {tex}"
            for script in re.findall(r"\\substack\{(.*?)\}\s*\}", tex):
                assert r"\frac" not in script, f"{name}: a fraction in a subscript: {tex}"
            for cells in re.findall(r"\\begin\{matrix\}(.*?)\\end\{matrix\}", tex):
                assert r"\frac" not in cells, f"{name}: fractions in a matrix: {tex}"


def test_products_of_a_layers_vectors_are_elementwise(built):
    """δ^(l) (no unit index) is the whole layer: its products are ∘, never ·."""
    documents, _ = built
    checked = 0
    for name, doc in documents.items():
        for eq in doc.equations:
            if re.fullmatch(r"\\delta\^\{\(\d\)\}", eq.lhs):
                for line in eq.lines:
                    if r"\partial" in line.rhs:  # the chain rule: derivatives, not the layer's vectors
                        continue
                    assert r"\cdot" not in line.rhs, f"{name}: {eq.lhs} = {line.rhs}"
                    checked += r"\circ" in line.rhs
    assert checked


def test_the_exercise_names_its_cost_once_and_has_a_solution_and_its_results_in_the_summary(built):
    documents, _ = built
    doc = documents["exercise-squared-error"]
    formulas = list(_formulas(doc))
    assert not [t for t in formulas if re.search(r"(?<![A-Za-z\\])E(?![A-Za-z])", t)], "E is used for a cost"
    assert doc.sections[0].equations[0].lhs == "J"
    assert plain(doc.sections[1].heading) == "Solution" and doc.sections[1].id == "exercise_solution"
    summary = doc.sections[-1]
    assert summary.repeats
    ids = [eq.id for eq in summary.equations]
    assert any(i.startswith("exercise_comparison.ratio") for i in ids)
    assert any(i.startswith("exercise_recursion") for i in ids)


def test_the_worked_example_states_its_data_first_and_its_notes_beside_their_equations(built):
    documents, _ = built
    doc = documents["worked-example"]
    given = doc.sections[0]
    assert given.id == "example_given"
    assert [eq.lhs for eq in given.equations][:4] == [r"\Theta^{(1)}", r"\Theta^{(2)}", "x", "y"]
    precision = [p for s in doc.sections for p in s.notes if plain(p).startswith(("Exact", "Shown to"))]
    assert len(precision) == len(set(precision)) >= 1 and all(p in given.notes for p in precision)
    forward = next(s for s in doc.sections if s.id == "example_forward")
    kinds = [type(b) for b in forward.blocks]
    assert kinds.count(Notes) > 1 and kinds[1] is Notes, "the notes are not beside their equations"
    assert isinstance(forward.blocks[0], EquationGroup)


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, dict, list[str]]] = []
        self.open: tuple[str, dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self.open = (tag, dict(attrs), [])
            self.cells.append(self.open)
        elif tag == "a" and self.open is not None:
            self.open[2].append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.open = None

    def handle_data(self, data):
        if self.open is not None:
            self.open[1].setdefault("text", "")
            self.open[1]["text"] += data


def test_the_index_links_what_a_reader_can_open_and_says_what_it_is(built):
    _, files = built
    page = index(ENTRIES, files)
    cells = _Cells()
    cells.feed(page)
    headers = [attrs.get("text", "").strip() for tag, attrs, _ in cells.cells if tag == "th"]
    assert headers and all(headers), f"an empty header cell: {headers}"
    shown = re.sub(r"<[^>]+>", "", page)
    assert not re.search(r"derive (derivation|exercise|example|graph|grade|check|lecture)\b|--\w", shown), \
        "a command line shown"
    rows = [c for c in cells.cells if c[0] == "td"]
    linked = {h for c in rows for h in c[2]}
    assert linked <= set(files), f"links to nothing: {sorted(linked - set(files))}"
    for e in ENTRIES:
        row = [c for c in rows if any(h.startswith((e.name + ".", e.name + "/")) or h == f"{e.companion}.html"
                                      for h in c[2])]
        assert row, e.name
        folder = sorted(n for n in files if n.startswith(e.name + "/"))
        if folder:  # a folder entry (an exercise sheet): every one of its files linked, nothing a browser opens
            assert folder == sorted(h for c in row for h in c[2] if h.startswith(e.name + "/")), e.name
        else:
            assert any(h.endswith(".html") for c in row for h in c[2]), f"{e.name}: nothing a browser opens"
        if e.language != "en":
            assert all(c[1].get("lang") == e.language for c in row), f"{e.name}: no lang={e.language}"
    assert '<html lang="en"' in page


def test_the_attention_documents_write_their_mathematics_as_their_equations_do(built):
    """The reviewer's findings on the attention lecture, each asserted: the parameters W_q, W_k, W_v as the
    equations write them (in the table, the shapes and the notes), √d_k a root over a subscripted d, ∂J/∂S
    bracketed before K, O introduced before ∂J/∂O is used, one transpose symbol, W_v's column index not v."""
    documents, files = built
    for name in ("attention", "attention-zh"):
        words = [r.text for s in documents[name].sections for p in s.notes for r in p.runs if isinstance(r, Text)]
        assert not [w for w in words if re.search(r"W_|√|dk|\bW[qkv]\b", w)], f"{name}: mathematics as words"
        tex = files[name + ".tex"]
        assert r"W_{q}^{(1)} \in \mathbb{R}" in tex and not re.search(r"W[qkv]\^", tex)
        assert r"(\partial J/\partial S)  K/\sqrt{d_{k}}" in tex
        assert tex.index("O = a^{(2)} = P  V") < tex.index(r"\partial J/\partial O")
        assert not re.search(r"(\)|(?<![\\A-Za-z])[A-Za-z])\^\{T\}", tex), "a transpose as an italic T (the T of Σ^T)"
        assert r"(K^{(1)})^{\mathsf{T}}" in tex
        assert "_{i,v}" not in tex and "(W_{v}^{(1)})_{i,c}" in tex  # an element's indices clear of W_v^(1)
        assert not re.search(r"\{W_\{[qkv]\}\^\{\(1\)\}\}_", tex)
        assert r"\sum_{n} \frac{\partial J}{\partial a^{(2)}_{n}}" in tex and "a^{(2)}_{k}" not in tex  # not W_k's k


TITLE_WIDTH = 62
"""the widest frame title, in Latin characters (a Chinese one counts two, a formula five), that fits on one line
of a deck's frame: longer ones wrapped "(continued)" alone onto a second line"""


def _title_width(title: str) -> int:
    plain = re.sub(r"\$[^$]*\$", "xxxxx", title)
    plain = re.sub(r"\\[a-zA-Z]+\{?|[{}]", "", plain)
    return sum(2 if ord(c) > 0x2E80 else 1 for c in plain)


def test_every_frame_title_fits_on_one_line(built):
    _, files = built
    for name, tex in files.items():
        if name.startswith("slides-") and name.endswith(".tex"):
            for title in re.findall(r"\\begin\{frame\}(?:\[[^]]*\])?\{(.*)\}", tex):
                assert _title_width(title) <= TITLE_WIDTH, f"{name}: {title!r}"


def test_a_layers_frames_are_titled_by_its_short_heading_and_its_notes_by_the_full_one(built):
    documents, files = built
    for name, short, full, later in (("attention", "Layer 1 (self-attention): its backward rule",
                                      "Layer 1 (self-attention, input", " (continued)"),
                                     ("attention-zh", "第 1 层（自注意力）：反向规则", "第 1 层（自注意力，输入",
                                      "（续）")):
        section = next(s for s in documents[name].sections if s.id == "layer1")
        assert plain(section.short) == short and plain(section.heading).startswith(full)
        assert "\\section*{%s" % full in files[name + ".tex"]
        deck = files["slides-" + name + ".tex"]
        assert "\\begin{frame}{%s}" % short in deck and "\\begin{frame}{%s%s}" % (short, later) in deck
        assert full not in deck


def test_layers_are_named_in_the_documents_language(built):
    _, files = built
    assert "| 1: 卷积 $2 \\times 3 \\times 3$，ReLU |" in files["cnn-zh.md"]
    assert "| 1: convolution $2 \\times 3 \\times 3$, ReLU |" in files["cnn.md"]
    assert "; $\\lambda = 0$." in files["cnn.md"] and "；$\\lambda = 0$。" in files["cnn-zh.md"]  # one formula
    intro = files["attention-zh.md"].split("\n", 3)[2]
    assert "自注意力 $\\to 4 \\times 3$；全连接 $2$，softmax" in intro and "attention" not in intro


def test_a_layers_long_notes_take_its_next_equations_to_the_next_frame(built):
    """The recurrent layer's first frame: its definition and the recursion through time, whose note takes three
    lines; the chain for ∂J/∂a starts a frame of its own instead of shrinking all of them."""
    _, files = built
    frames = files["slides-rnn-bptt.tex"].split(r"\begin{frame}")
    first = next(f for f in frames[1:] if "Backpropagation through time" in f)
    assert r"\partial h^{(1)}_{t}" in first and r"\partial a^{(1)}_{i,j}" not in first
