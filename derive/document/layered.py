"""The document of a layered network (SPEC §9), from the one ``build`` makes for every derivation: the network
in words and as a diagram of its layers, the shape of every tensor (a table after the forward pass, and in each
layer's section the shapes of what its rule reads and writes), the flipped-kernel picture beside a convolution's
rule, and a summary of every layer's rule.

Nothing is derived here: the equations are the derivation's; the shapes are the description's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from derive.catalogue import Catalogue

from ..layers.derivation import activated, symbol
from ..render.tex import MathPrinter
from . import Document, Equation, EquationGroup, Figure, Line, Math, Notes, Paragraph, Run, Section, Table, Text
from .words import paragraph

REAL = r"\mathbb{R}"


def dims(shape: Sequence[int]) -> str:
    """1 × 6 × 6 as LaTeX."""
    return r" \times ".join(map(str, shape))


def member(tex: str, shape: Sequence[int]) -> str:
    """tex ∈ ℝ^{shape}."""
    return r"%s \in %s^{%s}" % (tex, REAL, dims(shape))


def tensor(printer: MathPrinter, letter: str, layer: int) -> str:
    from ..layers.display import TensorName

    return printer.doprint(TensorName(letter, layer))


def sentence(template: str, **math: str | Sequence[Run]) -> Paragraph:
    """A catalogue sentence whose {placeholders} are mathematics (LaTeX given here) or runs; the rest its own
    words."""
    runs: list[Run] = []
    for n, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if n % 2:
            value = math[piece]
            runs.extend([Math(value)] if isinstance(value, str) else value)
        elif piece:
            runs.extend(paragraph(piece).runs)
    return Paragraph(tuple(runs))


def _said(layer: Any, words: Catalogue) -> list[Run]:
    """The layer as its table says it: conv2d 2 × 3 × 3, ReLU; maxpool 2 × 2; flatten; dense 3, softmax."""
    cfg = layer.config
    size = {"conv2d": r"%s \times %s \times %s" % (cfg.get("channels"), cfg.get("kernel"), cfg.get("kernel")),
            "dense": str(cfg.get("units")), "maxpool": r"%s \times %s" % (cfg.get("size"), cfg.get("size")),
            "meanpool": r"%s \times %s" % (cfg.get("size"), cfg.get("size"))}.get(layer.kind)
    runs: list[Run] = [Text(words.name(layer.kind) + (" " if size else ""))]
    runs += [Math(size)] if size else []
    for key, default in (("stride", 1), ("padding", 0)):
        if layer.kind == "conv2d" and cfg.get(key, default) != default:
            runs.append(Text(f"{words.word('layered', 'comma')}{key} {cfg[key]}"))
    if layer.activation and layer.activation != "linear":
        runs.append(Text(words.word("layered", "comma") + words.name(layer.activation)))
    return runs


def layer_words(layer: Any) -> str:
    """conv2d 2 × 3 × 3, relu; maxpool 2; dense 3, softmax: the layer as its table says it."""
    cfg = layer.config
    said = {"conv2d": f"{cfg.get('channels')}×{cfg.get('kernel')}×{cfg.get('kernel')}",
            "dense": str(cfg.get("units")), "maxpool": f"{cfg.get('size')}×{cfg.get('size')}",
            "meanpool": f"{cfg.get('size')}×{cfg.get('size')}"}.get(layer.kind, "")
    if layer.kind == "conv2d" and cfg.get("stride", 1) != 1:
        said += f", stride {cfg['stride']}"
    if layer.kind == "conv2d" and cfg.get("padding", 0):
        said += f", padding {cfg['padding']}"
    return " ".join(p for p in (layer.kind, said) if p)


def finish(doc: Document, net: Any, printer: MathPrinter, words: Catalogue) -> Document:
    """The layered network's document from the general one ``doc``."""
    out: list[Section] = []
    for section in doc.sections:
        if section.id == "summary":
            continue
        blocks = section.blocks
        if section.id == "forward":  # the table states the shapes: the notes keep what the activations do
            kept = {line.note for eq in section.equations for line in eq.lines if line.note is not None
                    and (re.fullmatch(r"forward\.a(\d+)", line.step)
                         and any(e.id == "forward.z" + line.step[len("forward.a"):] for e in section.equations)
                         or line.step.startswith("forward.norm"))}  # and what batch norm's symbols mean
            blocks = tuple(Notes(tuple(p for p in b.paragraphs if p in kept)) if isinstance(b, Notes) else b
                           for b in blocks) + (shape_table(net, printer, words),)
        match = re.fullmatch(r"layer(\d+)", section.id)
        if match:
            layer = net.stack[int(match.group(1)) - 1]
            extra: tuple[Any, ...] = (layer_shapes(net, layer, printer, words),)
            if layer.kind == "conv2d":
                extra += (conv_notation(layer, printer, words), kernel_figure(layer, words))
            if layer.kind in ("batchnorm", "layernorm"):
                blocks = _norm_notes(blocks, layer, printer, words)
            blocks = (*extra, *blocks)
        out.append(replace(section, blocks=blocks))
    gathered = layered_summary(out, words)
    if gathered.equations:
        out.append(gathered)
    arrows: list[Run] = []
    for layer in net.stack:
        arrows += [Text(words.word("layered", "separator"))] if arrows else []
        arrows += [*_said(layer, words), Text(" "), Math(r"\to " + dims(layer.output))]
    intro = sentence(words.word("layered", "network", input="{input}", layers="{layers}", loss=net.loss,
                                reduction=net.reduction, lam="%g" % net.lam),  # λ = 0 read with its words
                     input=dims(net.input), layers=arrows)
    chain = " → ".join(["×".join(map(str, net.input))] + ["×".join(map(str, layer.output)) for layer in net.stack])
    meta = replace(doc.meta, subtitle=words.word("layered", "subtitle", shapes=chain, loss=net.loss))
    return replace(doc, meta=meta, intro=intro, sections=tuple(out), figure=Figure("layers", net))


def _norm_notes(blocks: Sequence[Any], layer: Any, printer: MathPrinter, words: Catalogue) -> tuple[Any, ...]:
    """A normalization layer's notes in the symbols of its equations (x̂, σ̂, the count normalized together)."""
    n = layer.index
    count = "n" if layer.kind == "layernorm" else "m H W" if len(layer.input) == 3 else "m"
    xhat, sigma = r"\hat{x}^{(%d)}" % n, r"\hat{\sigma}^{(%d)}" % n
    def over(key: str) -> list[Run]:
        return list(paragraph(words.word("layered", key)).runs)

    delta = r"\delta^{(%d)}" % (n + 1)
    if layer.kind == "batchnorm":  # its symbols are defined in the forward pass; example r, feature j in the sums
        said = {
            "a": sentence(words.word("layered", "batch_a", **{k: "{%s}" % k for k in ("count", "xhat", "sigma")}),
                          count=count, xhat=xhat, sigma=sigma),
            "gamma": sentence(words.word("layered", "norm_gamma", **{k: "{%s}" % k for k in ("product", "over")}),
                              product=r"%s_{r,j} %s_{r,j}" % (delta, xhat), over=over("over_batch_examples")),
            "beta": sentence(words.word("layered", "norm_beta", **{k: "{%s}" % k for k in ("delta", "over")}),
                             delta=r"%s_{r,j}" % delta, over=over("over_batch_examples")),
        }
    else:
        said = {
            "a": sentence(words.word("layered", "norm_a",
                                     **{k: "{%s}" % k for k in ("count", "xhat", "sigma", "over")}),
                          count=count, xhat=r"%s = (%s - \mu)/%s" % (xhat, tensor(printer, "a", n), sigma),
                          sigma=r"%s = \sqrt{\sigma^{2} + \varepsilon}" % sigma, over=over("over_features")),
            "gamma": sentence(words.word("layered", "norm_gamma", **{k: "{%s}" % k for k in ("product", "over")}),
                              product=r"%s \circ %s" % (delta, xhat), over=over("over_examples")),
            "beta": sentence(words.word("layered", "norm_beta", **{k: "{%s}" % k for k in ("delta", "over")}),
                             delta=delta, over=over("over_examples")),
        }
    swap: dict[Paragraph, Paragraph] = {}
    out: list[Any] = []
    for block in blocks:
        if isinstance(block, EquationGroup):
            equations = []
            for eq in block.equations:
                lines = []
                for line in eq.lines:
                    match = re.fullmatch(r"layer\d+\.(a|gamma|beta)\.tensor\.\d+", line.step)
                    if match and line.note is not None:
                        swap[line.note] = said[match.group(1)]
                        line = replace(line, note=said[match.group(1)])
                    lines.append(line)
                equations.append(replace(eq, lines=tuple(lines)))
            block = replace(block, equations=tuple(equations))
        elif isinstance(block, Notes):
            block = Notes(tuple(swap.get(p, p) for p in block.paragraphs))
        out.append(block)
    return tuple(out)


def shape_table(net: Any, printer: MathPrinter, words: Catalogue) -> Table:
    """One row per layer: its kind, the tensor it outputs and the error δ of that output (the same shape), its
    parameters, each with its shape (one example's)."""
    head = tuple(paragraph(words.word("layered", key)) for key in ("col_layer", "col_output", "col_parameters"))
    rows = [(paragraph(words.word("layered", "input")), Paragraph((Math(member(tensor(printer, "a", 1), net.input)),)),
             Paragraph((Text("—"),)))]
    for layer in net.stack:
        n = layer.index
        named = ([tensor(printer, "z", n + 1)] if activated(net, layer) else []) + [tensor(printer, "a", n + 1),
                                                                                tensor(printer, "delta", n + 1)]
        params = [member(tensor(printer, symbol(layer.kind, name), n), shape) for name, shape in layer.parameters]
        rows.append((Paragraph((Text(f"{n}: "), *_said(layer, words))),
                     Paragraph((Math(member(", ".join(named), layer.output)),)),
                     Paragraph(_listed(params) if params else (Text("—"),))))
    return Table(head, tuple(rows))


def _listed(texts: Sequence[str]) -> tuple[Run, ...]:
    runs: list[Run] = []
    for n, tex in enumerate(texts):
        runs += [Text(", ")] if n else []
        runs.append(Math(tex))
    return tuple(runs)


def layer_shapes(net: Any, layer: Any, printer: MathPrinter, words: Catalogue) -> Paragraph:
    """The shapes of what the layer's rule reads and writes: its input, its parameters, the error it receives."""
    n = layer.index
    texts = [member(tensor(printer, "a", n), layer.input)]
    texts += [member(tensor(printer, symbol(layer.kind, name), n), shape) for name, shape in layer.parameters]
    texts.append(member(tensor(printer, "delta", n + 1), layer.output))
    key = "shapes_batch" if layer.kind == "batchnorm" else "shapes"  # batch norm couples the examples
    example = tensor(printer, symbol(layer.kind, layer.parameters[0][0]) if layer.parameters else "a", n)
    return sentence(words.word("layered", key, tensors="{tensors}", gradient="{gradient}", T="{T}"),
                    tensors=r",\ ".join(texts), gradient=r"\partial J/\partial %s" % example, T=example)


def conv_notation(layer: Any, printer: MathPrinter, words: Catalogue) -> Paragraph:
    """What ⋆, rot180, pad (and dilate, crop where the layer has a stride or padding) mean, before the rule uses
    them, and the forward pass written with the same ⋆."""
    cfg, n = layer.config, layer.index
    k, s, p = cfg["kernel"], cfg.get("stride", 1), cfg.get("padding", 0)
    a, K, b = (tensor(printer, letter, n) for letter in ("a", "K", "b"))
    z = r"z^{(%d)}" % (n + 1)
    padded = r"\operatorname{pad}_{%d}\left(%s\right)" % (p, a) if p else a
    corr = r"\left(A \star B\right)_{i,j} = \sum_{u,v} A_{i+u,\,j+v}\, B_{u,v}"
    rot = r"\operatorname{rot}_{180^{\circ}}\left(K\right)_{u,v} = K_{%d-u,\,%d-v}" % (k - 1, k - 1)
    runs = list(sentence(words.word("layered", "conv_notation", corr="{corr}", rot="{rot}", pad="{pad}"),
                         corr=corr, rot=rot, pad=r"\operatorname{pad}_{p}").runs)
    if s == 1:
        forward = r"%s = %s \star %s + %s" % (z, padded, K, b)
        extra = [("conv_forward", {"forward": forward})]
    else:
        forward = r"%s_{o,i,j} = \left(%s \star %s\right)_{o,\,%d i,\,%d j} + %s_{o}" % (z, padded, K, s, s, b)
        extra = [("conv_forward_stride", {"forward": forward, "stride": str(s)}),
                 ("conv_dilate", {"dilate": r"\operatorname{dilate}_{s}"})]
    if p:
        extra.append(("conv_crop", {"crop": r"\operatorname{crop}_{p}"}))
    for key, math in extra:
        said = sentence(words.word("layered", key, **{m: "{%s}" % m for m in math}), **math)
        runs += [Text("" if words.language == "zh" else " "), *said.runs]  # Chinese joins sentences without a space
    return Paragraph(tuple(runs))


def kernel_figure(layer: Any, words: Catalogue) -> Figure:
    cfg = layer.config
    k, s, p = cfg["kernel"], cfg.get("stride", 1), cfg.get("padding", 0)
    keys = ("K", "size", "delta", "a", "pad", "stride")
    which = "kernel_caption" + ("_stride" if s > 1 else "") + ("_padding" if p else "")
    caption = sentence(words.word("layered", which, **{key: "{%s}" % key for key in keys}),
                       K=r"K^{(%d)}" % layer.index, size=r"%d \times %d" % (k, k),
                       delta=r"\delta^{(%d)}" % (layer.index + 1), a=r"a^{(%d)}" % layer.index,
                       pad=str(k - 1), stride=str(s))
    return Figure("flipped_kernel", layer, caption)


def layered_summary(parts: Sequence[Section], words: Catalogue) -> Section:
    """Every result on one page: the output error, each error through an activation, and each layer's rules in
    the lecturer's form (the last line of each of its equations)."""
    equations: list[Equation] = []
    for part in parts:
        if part.id == "output_delta" or part.id.startswith("activation_delta"):
            chosen = [eq for eq in part.equations if eq.lines[-1].rule == "vectorize"] or list(part.equations[-1:])
        elif re.fullmatch(r"layer\d+", part.id):
            chosen = [eq for eq in part.equations if eq.lines[-1].rule == "layer_rule"]
        else:
            continue
        for eq in chosen:
            last = eq.lines[-1]
            equations.append(Equation(eq.lhs, (Line(last.step, last.relation, last.rhs, last.terms, last.rule,
                                                    Paragraph(()), None, last.text, last.sympy),), eq.tag))
    return Section("summary", paragraph(words.word("document", "summary")), (EquationGroup(tuple(equations)),),
                   repeats=True)

