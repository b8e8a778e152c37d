"""attention: single-head self-attention over a sequence X (T × n), as a hand-written PyTorch attention computes it:
Q = X Wq, K = X Wk, V = X Wv (T × dk, T × dk, T × dv), S = Q Kᵀ/√dk (T × T), P = softmax(S) by rows (with
``causal``, position t attends to the positions s ≤ t only), O = P V (T × dv).

Besides the entry, the module gives the derivation its landmarks: the output written as a function of V and P,
of S and V, of Q, K and V, so that ∂J/∂V, ∂J/∂P, ∂J/∂S, ∂J/∂Q and ∂J/∂K are each derived by the chain rule
from a definition and checked against the lecturer's form the backward code computes.
"""

from __future__ import annotations

from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import np, sp, symbolic, tensor

MAX_T = 1024
"""the longest sequence an attention layer takes (its scores are T × T per example)"""


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) != 2:
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; attention needs a sequence [T, n]: "
                         "input = [T, n], or a layer returning one")
    if shape[0] > MAX_T:
        raise ShapeError(f"the sequence has T = {shape[0]} steps; attention allows T from 1 to {MAX_T}")
    return (shape[0], cfg["dv"])


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    n = shape[1]
    return {"Wq": (n, cfg["dk"]), "Wk": (n, cfg["dk"]), "Wv": (n, cfg["dv"])}


def _scale(dk: int, like: Any) -> Any:
    """1/√dk, exact for SymPy elements."""
    return 1 / sp.sqrt(dk) if symbolic(like) else 1.0 / np.sqrt(dk)


def _seen(T: int, t: int, causal: bool) -> range:
    """The positions position t attends to."""
    return range(t + 1) if causal else range(T)


# ---- the definition, element by element
def _project(x: Any, W: Any) -> Any:
    m, T, n = x.shape
    out = np.empty((m, T, W.shape[1]), dtype=object)
    for e, t, j in np.ndindex(*out.shape):
        out[e, t, j] = sp.Add(*(x[e, t, i] * W[i, j] for i in range(n)))
    return out


def _scores(Q: Any, K: Any) -> Any:
    m, T, dk = Q.shape
    out = np.empty((m, T, T), dtype=object)
    for e, t, s in np.ndindex(*out.shape):
        out[e, t, s] = sp.Add(*(Q[e, t, j] * K[e, s, j] for j in range(dk))) / sp.sqrt(dk)
    return out


def _weights(S: Any, causal: bool) -> Any:
    """P[t, s] = exp(S[t, s]) / Σ_{s' seen by t} exp(S[t, s']), 0 for a position t does not see."""
    m, T, _ = S.shape
    out = np.zeros((m, T, T), dtype=object)
    for e, t in np.ndindex(m, T):
        seen = _seen(T, t, causal)
        total = sp.Add(*(sp.exp(S[e, t, s]) for s in seen))
        for s in seen:
            out[e, t, s] = sp.exp(S[e, t, s]) / total
    return out


def _mix(P: Any, V: Any) -> Any:
    m, T, dv = V.shape
    out = np.empty((m, T, dv), dtype=object)
    for e, t, v in np.ndindex(*out.shape):
        out[e, t, v] = sp.Add(*(P[e, t, s] * V[e, s, v] for s in range(T)))
    return out


def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    Q, K, V = _project(x, P["Wq"]), _project(x, P["Wk"]), _project(x, P["Wv"])
    return _mix(_weights(_scores(Q, K), cfg["causal"]), V)


# ---- the array code (NumPy over floats, or over SymPy objects for the proofs)
def softmax(S: Any, causal: bool) -> Any:
    """softmax by rows; with ``causal`` the entries above the diagonal (the future) get weight 0."""
    T = S.shape[-1]
    if symbolic(S):
        E = np.vectorize(sp.exp, otypes=[object])(S)
        if causal:
            E = E * np.tril(np.ones((T, T), dtype=int))
        return E / E.sum(axis=-1, keepdims=True)
    if causal:
        S = np.where(np.tril(np.ones((T, T), dtype=bool)), S, -np.inf)
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    E /= E.sum(axis=-1, keepdims=True)
    return E


def _t(A: Any) -> Any:
    """Each example's matrix transposed."""
    return A.swapaxes(-1, -2)


def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    """Three projections, the scaled scores, the row softmax and the mix, each one batched product."""
    Q, K, V = X @ P["Wq"], X @ P["Wk"], X @ P["Wv"]
    A = softmax((Q @ _t(K)) * _scale(cfg["dk"], X), cfg["causal"])
    O = A @ V
    return O, (X, Q, K, V, A, O)


def backward(dO: Any, cache: Any, P: dict[str, Any], cfg: Config, *,
             inputs: bool = True) -> tuple[Any, dict[str, Any]]:
    """The lecturer's form: ∂J/∂V = Pᵀ δ, ∂J/∂P = δ Vᵀ, ∂J/∂S = P ∘ (∂J/∂P − rowsum(δ ∘ O)), ∂J/∂Q = ∂J/∂S K/√dk,
    ∂J/∂K = (∂J/∂S)ᵀ Q/√dk; ∂J/∂Wq = Xᵀ ∂J/∂Q (likewise Wk, Wv), summed over the examples;
    ∂J/∂X = ∂J/∂Q Wqᵀ + ∂J/∂K Wkᵀ + ∂J/∂V Wvᵀ."""
    X, Q, K, V, A, O = cache
    parts = landmarks(dO, Q, K, V, A, O, cfg)
    n = X.shape[-1]
    rows = X.reshape(-1, n).T
    grads = {w: rows @ parts[t].reshape(-1, parts[t].shape[-1]) for w, t in (("Wq", "Q"), ("Wk", "K"), ("Wv", "V"))}
    if not inputs:  # the first layer: nothing to pass back
        return None, grads
    return parts["Q"] @ P["Wq"].T + parts["K"] @ P["Wk"].T + parts["V"] @ P["Wv"].T, grads


def landmarks(dO: Any, Q: Any, K: Any, V: Any, A: Any, O: Any, cfg: Config) -> dict[str, Any]:
    """∂J/∂V, ∂J/∂P, ∂J/∂S, ∂J/∂Q, ∂J/∂K from the output's error δ = ∂J/∂O, in the lecturer's form."""
    scale = _scale(cfg["dk"], dO)
    dV = _t(A) @ dO
    dP = dO @ _t(V)
    dS = A * (dP - (dO * O).sum(axis=-1, keepdims=True))   # rowsum(∂J/∂P ∘ P) = rowsum(δ ∘ O), as O = P V
    out = {"V": dV, "P": dP, "S": dS}
    if Q is not None:  # ∂J/∂Q, ∂J/∂K as well (not when the landmarks are taken of P and V alone)
        out.update(Q=(dS @ K) * scale, K=(_t(dS) @ Q) * scale)
    return out


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    """Two time steps, two input features, dk at most 2 (so that 1/√dk shows), dv at most 2."""
    return (min(shape[0], 2), 1), {**cfg, "dk": min(cfg["dk"], 2), "dv": 1}, 1


def definitions(x: Any, params: dict[str, Any], cfg: Config, n: int) -> list[tuple[str, Any, Any, Any]]:
    """For each landmark (V, P, S, Q, K): (its name, its elements as free symbols, the layer's output as a function
    of them, the lecturer's form of ∂J/∂(it) as a function of δ) on the concrete instance ``x``; ``delta`` is
    filled in by ``landmark_forms``."""
    m, T, _ = x.shape
    dk, dv = params["Wq"].shape[1], params["Wv"].shape[1]
    free = {name: tensor(f"{name}{n}", shape) for name, shape in
            (("Q", (m, T, dk)), ("K", (m, T, dk)), ("V", (m, T, dv)), ("S", (m, T, T)), ("P", (m, T, T)))}
    causal = cfg["causal"]
    if causal:  # the weights of the future are 0, not free
        free["P"] = free["P"] * np.tril(np.ones((T, T), dtype=int))
    Q, K, V, S, P = (free[k] for k in "QKVSP")
    of_qkv = _mix(_weights(_scores(Q, K), causal), V)
    return [("V", V, _mix(P, V), (P, V)), ("P", P, _mix(P, V), (P, V)),
            ("S", S, _mix(_weights(S, causal), V), (S, V)),
            ("Q", Q, of_qkv, (Q, K, V)), ("K", K, of_qkv, (Q, K, V))]


def landmark_form(name: str, delta: Any, given: tuple[Any, ...], cfg: Config) -> Any:
    """The backward code's ∂J/∂(name), from the free quantities ``given`` (see ``definitions``)."""
    if name in ("V", "P"):
        P, V = given
        O = P @ V
        return landmarks(delta, None, None, V, P, O, cfg)[name]
    if name == "S":
        S, V = given
        A = softmax(S, cfg["causal"])
        return landmarks(delta, None, None, V, A, A @ V, cfg)[name]
    Q, K, V = given
    A = softmax((Q @ _t(K)) * _scale(cfg["dk"], Q), cfg["causal"])
    return landmarks(delta, Q, K, V, A, A @ V, cfg)[name]


def steps(name: str, layer: Any, delta: Any, given: Any) -> list[tuple[str, Any, Any]]:
    """The lecturer's way to ∂J/∂S, through P = softmax(S) (each step checked against every derived element):
    Σ_r ∂J/∂P_tr P_tr (1[s = r] − P_ts), then P ∘ (∂J/∂P − rowsum(∂J/∂P ∘ P)); the backward code's
    rowsum(δ ∘ O) follows as the layer rule."""
    if name != "S":
        return []
    from derive.engine.expressions import Hadamard, Indicator, Partial
    from derive.model.notation import q

    from ..display import Operation, TensorName, indexed

    S, V = given
    cfg = layer.config
    A = softmax(S, cfg["causal"])
    dP = delta @ _t(V)
    m, T, _ = S.shape
    jacobian = np.empty(S.shape, dtype=object)
    for e, t, s in np.ndindex(*S.shape):
        jacobian[e, t, s] = sp.Add(*(dP[e, t, r] * A[e, t, r] * ((1 if r == s else 0) - A[e, t, s])
                                     for r in range(T)))
    n = layer.index
    e, t, u, r = sp.symbols("e t u r")
    Pi, J = indexed("P", n), q("J")
    by_element = sp.Sum(Partial(J, Pi[e, t, r]) * Pi[e, t, r] * (Indicator(u, r) - Pi[e, t, u]),
                        (r, 1, sp.Symbol("T")))
    P = TensorName("P", n)
    whole = Hadamard(P, Partial(J, P) - Operation("rowsum", Hadamard(Partial(J, P), P)))
    return [("softmax_jacobian", by_element, jacobian),
            ("rowsum_form", whole, A * (dP - (dP * A).sum(axis=-1, keepdims=True)))]


def forward_steps(layer: Any) -> list[Any]:
    """The definitions inside the layer, each with one example's shape: Q, K, V, S, P and the output O = P V."""
    from derive.engine.derivation import definition as define
    from derive.engine.expressions import Frac, Product

    from ..display import Operation, TensorName

    n, cfg = layer.index, layer.config
    a, Q, K, V, S, P = (TensorName(letter, n) for letter in ("a", "Q", "K", "V", "S", "P"))
    size = {**shapes(layer.input, cfg), "O": layer.output}
    root = sp.sqrt(sp.Symbol("d_k", positive=True))
    forms = [("Q", Q, a * TensorName("W_q", n)), ("K", K, a * TensorName("W_k", n)),
             ("V", V, a * TensorName("W_v", n)),
             ("S", S, Product(Frac(sp.Integer(1), root), Q * Operation("transpose", K))),
             ("P", P, Operation("causal_softmax" if cfg["causal"] else "softmax_rows", S)),
             ("O", TensorName("a", n + 1), P * V)]
    return [define(f"forward.attention{n}.{name}", lhs, rhs, note="attention_output" if name == "O" else
                   "attention_forward", name=name, shape=" × ".join(map(str, size[name])), layer=n)
            for name, lhs, rhs in forms]


def shapes(shape: Shape, cfg: Config) -> dict[str, Shape]:
    """One example's inner quantities: Q, K (T × dk), V (T × dv), S and P (T × T)."""
    T = shape[0]
    return {"Q": (T, cfg["dk"]), "K": (T, cfg["dk"]), "V": (T, cfg["dv"]), "S": (T, T), "P": (T, T)}


INDICES = {"a": "e t i", "Q": "e t j", "K": "e u j", "V": "e u c", "S": "e t u", "P": "e t u", "Wq": "i j",
           "Wk": "i j", "Wv": "i c"}
"""the index letters of each quantity's elements (e the example, t and u time steps, j a key feature, c a value feature:
never v, the subscript of W_v)"""

register(LayerKind("attention", {"dk": Key("int", None, 1, 1024), "dv": Key("int", None, 1, 1024),
                                 "causal": Key("bool", False)},
                   _output, _parameters, definition, forward, backward, _instance, weights=("Wq", "Wk", "Wv"),
                   extra={"landmarks": definitions, "landmark_form": landmark_form, "shapes": shapes,
                          "indices": INDICES, "steps": steps, "forward": forward_steps,
                          "symbols": {"Wq": "W_q", "Wk": "W_k", "Wv": "W_v"}}))
