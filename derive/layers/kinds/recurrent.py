"""rnn and lstm over a sequence [T, n], exactly as ``torch.nn.RNN`` and ``torch.nn.LSTM`` compute them (one bias
b where PyTorch has b_ih + b_hh):

- rnn:  h_t = g(W h_{t−1} + U x_t + b), h_0 = 0, g = tanh by default;
- lstm: (i, f, g, o) = (σ, σ, tanh, σ)(W h_{t−1} + U x_t + b), rows of W, U, b in the gate order i, f, g, o;
        c_t = f ∘ c_{t−1} + i ∘ g, h_t = o ∘ tanh(c_t), h_0 = c_0 = 0.

The layer returns the whole sequence h_1 … h_T (``returns = "sequence"``) or h_T alone (``"last"``). The forward
and backward array code loops over the time steps only (every example and unit at once); backward is
backpropagation through time as a lecturer writes it:
  δh_t = (the output's share at t) + Wᵀ ε_{t+1},  ε_t = δh_t ∘ g′(z_t),
  ∂J/∂W = Σ_t ε_t h_{t−1}ᵀ,  ∂J/∂U = Σ_t ε_t x_tᵀ,  ∂J/∂b = Σ_t ε_t,  ∂J/∂x_t = Uᵀ ε_t,
and for the LSTM, with the gate errors ε = (δi ∘ σ′, δf ∘ σ′, δg ∘ tanh′, δo ∘ σ′) stacked in gate order:
  δo_t = δh_t ∘ tanh(c_t),  δc_t = δh_t ∘ o_t ∘ (1 − tanh²(c_t)) + δc_{t+1} ∘ f_{t+1},
  δi_t = δc_t ∘ g_t,  δf_t = δc_t ∘ c_{t−1},  δg_t = δc_t ∘ i_t.
``derive.layers.derivation`` proves this code equal, element by element, to the chain rule on ``definition``
(the unrolled network written out for a small T).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from derive.model.activations import ACTIVATIONS

from ..registry import RETURNS, Config, Key, LayerKind, Shape, recurrent_output, register
from . import np, sp, symbolic, zeros

MAX_UNITS = 1024
"""the most units of a recurrent layer"""


# --- element-wise functions over float arrays or SymPy object arrays, from the activation registry
@cache
def _float(name: str) -> tuple[Any, Any]:
    """(g, g′ in terms of (z, a = g(z))) over float arrays, lambdified from the registry; g′ is written in a
    where the registry's identity allows it (tanh: 1 − a², sigmoid: a(1 − a)), which saves a second pass."""
    from .. import numeric

    g, prime = numeric._activation(name)
    if name == "tanh":
        return np.tanh, lambda Z, A: 1.0 - A * A
    if name == "sigmoid":
        return (lambda Z: 0.5 * (1.0 + np.tanh(0.5 * Z))), lambda Z, A: A * (1.0 - A)
    return g, lambda Z, A: prime(Z)


@cache
def _exact(name: str) -> tuple[Any, Any]:
    """(g, g′) as SymPy functions of one expression: g from the registry, g′ by sympy.diff."""
    z = sp.Dummy("z")
    unit = ACTIVATIONS[name].unit
    assert unit is not None
    with sp.evaluate(True):  # remembered: the same g′ whoever asks first (the exact trace builds unevaluated)
        d = sp.diff(unit(z), z)
    return unit, (lambda e: d.xreplace({z: e}))


def g(name: str, Z: Any) -> Any:
    if symbolic(Z):
        return np.vectorize(_exact(name)[0], otypes=[object])(Z)
    return _float(name)[0](Z)


def g_prime(name: str, Z: Any, A: Any) -> Any:
    """g′(Z), where A = g(Z) is already known."""
    if symbolic(Z):
        return np.vectorize(_exact(name)[1], otypes=[object])(Z)
    return _float(name)[1](Z, A)


def _config(cfg: Config, name: str) -> str:
    return str(cfg.get("activation", "tanh")) if name == "rnn" else "tanh"


# --- shapes
def _parameters(rows: int) -> Any:
    def parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
        u = cfg["units"]
        return {"W": (rows * u, u), "U": (rows * u, shape[-1]), "b": (rows * u,)}

    return parameters


def _returned(H: Any, cfg: Config) -> Any:
    """h_1 … h_T (m × T × u) or h_T (m × u), from the states h_0 … h_T (m × (T+1) × u)."""
    return H[:, 1:] if cfg["returns"] == "sequence" else H[:, -1]


# The array code keeps its tensors time-major (T × m × …), so that one time step's slice is contiguous.
def _time_major(A: Any) -> Any:
    return A.transpose(1, 0, *range(2, A.ndim))


def _returned_from(H: Any, cfg: Config) -> Any:
    """The layer's output (m × T × u or m × u) from the time-major states h_0 … h_T ((T+1) × m × u)."""
    return _time_major(H[1:]) if cfg["returns"] == "sequence" else H[-1]


def _share(dZ: Any, shape: tuple[int, ...], cfg: Config) -> Any:
    """The output's share of ∂J/∂h_t for every t (T × m × u): δ of the layer above at every step, or at T only."""
    if cfg["returns"] == "sequence":
        return _time_major(dZ)
    out = zeros(shape, dZ)
    out[-1] = dZ
    return out


def _record(trace: dict[str, Any] | None, **values: Any) -> None:
    """Hand the backward pass's intermediate errors to the derivation, batch-major (m × T × …)."""
    if trace is not None:
        trace.update({k: _time_major(v) for k, v in values.items()})


# --- rnn
def rnn_definition(x: Any, P: dict[str, Any], cfg: Config, nudge: dict[str, Any] | None = None) -> Any:
    """The network unrolled: h[e, t, i] = g(Σ_j W[i, j] h[e, t−1, j] + Σ_j U[i, j] x[e, t, j] + b[i]), element by
    element, h[e, 0, ·] = 0. ``nudge`` adds a symbol to each state ({"h": m × T × u}), so that ∂J/∂h_t can be
    taken by differentiating with respect to it at 0."""
    nudge = nudge or {}
    W, U, b = P["W"], P["U"], P["b"]
    m, T, n = x.shape
    u = W.shape[0]
    unit = _exact(_config(cfg, "rnn"))[0]
    h = np.zeros((m, T + 1, u), dtype=object)
    for e in range(m):
        for t in range(1, T + 1):
            for i in range(u):
                z = sp.Add(*(W[i, j] * h[e, t - 1, j] for j in range(u)), *(U[i, j] * x[e, t - 1, j]
                                                                              for j in range(n)), b[i])
                h[e, t, i] = unit(z) + (nudge["h"][e, t - 1, i] if "h" in nudge else 0)
    return _returned(h, cfg)


def rnn_forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    name = _config(cfg, "rnn")
    W, U, b = P["W"], P["U"], P["b"]
    m, T, _ = X.shape
    u = W.shape[0]
    Xt = _time_major(X)
    inputs = Xt @ U.T + b                                  # U x_t + b for every t at once: T × m × u
    H = zeros((T + 1, m, u), inputs)
    Z = zeros((T, m, u), inputs)
    Wt = W.T
    for t in range(T):
        Z[t] = H[t] @ Wt + inputs[t]
        H[t + 1] = g(name, Z[t])
    return _returned_from(H, cfg), (Xt, H, Z)


def rnn_backward(dZ: Any, cache_: Any, P: dict[str, Any], cfg: Config,
                 trace: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """Backpropagation through time: δh_t = share_t + Wᵀ ε_{t+1}, ε_t = δh_t ∘ g′(z_t); the weight gradients
    are sums over t (one product over all the time steps at once). ``trace`` receives every δh_t ("h")."""
    name = _config(cfg, "rnn")
    Xt, H, Z = cache_
    W = P["W"]
    T, m, u = Z.shape
    dH = _share(dZ, (T, m, u), cfg)
    E = zeros((T, m, u), dH)                               # ε_t = ∂J/∂z_t
    D = zeros((T, m, u), dH)                               # δh_t
    slope = g_prime(name, Z, H[1:])
    for t in range(T - 1, -1, -1):
        D[t] = dH[t] if t == T - 1 else dH[t] + E[t + 1] @ W
        E[t] = D[t] * slope[t]
    _record(trace, h=D)
    return _gradients(E, Xt, H)


def _gradients(E: Any, Xt: Any, H: Any) -> tuple[Any, dict[str, Any]]:
    """From the pre-activation errors ε (T × m × r): ∂J/∂W = Σ_t ε_t h_{t−1}ᵀ, ∂J/∂U = Σ_t ε_t x_tᵀ,
    ∂J/∂b = Σ_t ε_t, summed over the examples; ε is returned for ∂J/∂x_t = Uᵀ ε_t."""
    rows = E.reshape(-1, E.shape[-1])
    previous = H[:-1].reshape(-1, H.shape[-1])
    inputs = Xt.reshape(-1, Xt.shape[-1])
    return E, {"W": rows.T @ previous, "U": rows.T @ inputs, "b": rows.sum(axis=0)}


def _with_input(backward: Any) -> Any:
    def run(dZ: Any, cache_: Any, P: dict[str, Any], cfg: Config, *, inputs: bool = True) -> tuple[Any, Any]:
        E, grads = backward(dZ, cache_, P, cfg)
        return (_time_major(E @ P["U"]) if inputs else None), grads

    run.__doc__ = backward.__doc__
    return run


# --- lstm
def lstm_definition(x: Any, P: dict[str, Any], cfg: Config, nudge: dict[str, Any] | None = None) -> Any:
    """The LSTM unrolled, element by element: for each unit k, the four gates' weighted sums (rows k, u + k,
    2u + k, 3u + k in the order i, f, g, o), then c and h. ``nudge`` adds a symbol to the states h ("h"), c
    ("c") and the weighted sums ("s", m × T × 4u), for ∂J/∂(each) by differentiating at 0."""
    nudge = nudge or {}
    W, U, b = P["W"], P["U"], P["b"]
    m, T, n = x.shape
    u = W.shape[1]
    sigma, tanh = _exact("sigmoid")[0], sp.tanh
    h = np.zeros((m, T + 1, u), dtype=object)
    c = np.zeros((m, T + 1, u), dtype=object)
    for e in range(m):
        for t in range(1, T + 1):
            for k in range(u):
                s = [sp.Add(*(W[r, j] * h[e, t - 1, j] for j in range(u)), *(U[r, j] * x[e, t - 1, j]
                                                                              for j in range(n)), b[r])
                     + (nudge["s"][e, t - 1, r] if "s" in nudge else 0) for r in (k, u + k, 2 * u + k, 3 * u + k)]
                i, f, gg, o = sigma(s[0]), sigma(s[1]), tanh(s[2]), sigma(s[3])
                c[e, t, k] = f * c[e, t - 1, k] + i * gg + (nudge["c"][e, t - 1, k] if "c" in nudge else 0)
                h[e, t, k] = o * tanh(c[e, t, k]) + (nudge["h"][e, t - 1, k] if "h" in nudge else 0)
    return _returned(h, cfg)


def lstm_forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    W, U, b = P["W"], P["U"], P["b"]
    m, T, _ = X.shape
    u = W.shape[1]
    Xt = _time_major(X)
    inputs = Xt @ U.T + b                                  # T × m × 4u
    H = zeros((T + 1, m, u), inputs)
    C = zeros((T + 1, m, u), inputs)
    S = zeros((T, m, 4 * u), inputs)                       # the gates' weighted sums
    gates = zeros((T, m, 4 * u), inputs)                   # i, f, g, o after their functions
    tanh_c = zeros((T, m, u), inputs)
    Wt = W.T
    for t in range(T):
        S[t] = s = H[t] @ Wt + inputs[t]
        gates[t] = g("sigmoid", s)                         # σ for i, f, o; the g block is replaced by tanh
        gates[t, :, 2 * u: 3 * u] = g("tanh", s[:, 2 * u: 3 * u])
        i, f, gg, o = gates[t, :, :u], gates[t, :, u: 2 * u], gates[t, :, 2 * u: 3 * u], gates[t, :, 3 * u:]
        C[t + 1] = f * C[t] + i * gg
        tanh_c[t] = g("tanh", C[t + 1])
        H[t + 1] = o * tanh_c[t]
    return _returned_from(H, cfg), (Xt, H, C, S, gates, tanh_c)


def lstm_backward(dZ: Any, cache_: Any, P: dict[str, Any], cfg: Config,
                  trace: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """The gate errors and the cell recursion δc_{t−1} = δc_t ∘ f_t + (the share through h_{t−1}), over t from T
    down to 1; the weight gradients are sums over t of the gate errors times h_{t−1}ᵀ and x_tᵀ. ``trace``
    receives every δh_t ("h"), δc_t ("c") and the gate errors ("s")."""
    Xt, H, C, S, gates, tanh_c = cache_
    W = P["W"]
    T, m, u = tanh_c.shape
    dH = _share(dZ, (T, m, u), cfg)
    E = zeros((T, m, 4 * u), dH)                           # the gate errors ∂J/∂(weighted sum), gate order
    D = zeros((T, m, u), dH)                               # δh_t
    DC = zeros((T, m, u), dH)                              # δc_t
    # σ′ and tanh′ (by sympy.diff over SymPy arrays; over floats written in the values, σ(1 − σ) and 1 − tanh²)
    slope = g_prime("sigmoid", S, gates)
    slope[..., 2 * u: 3 * u] = g_prime("tanh", S[..., 2 * u: 3 * u], gates[..., 2 * u: 3 * u])
    tanh_slope = g_prime("tanh", C[1:], tanh_c)
    for t in range(T - 1, -1, -1):
        i, gg, o = gates[t, :, :u], gates[t, :, 2 * u: 3 * u], gates[t, :, 3 * u:]
        D[t] = dh = dH[t] if t == T - 1 else dH[t] + E[t + 1] @ W
        through_h = dh * o * tanh_slope[t]                               # plus δc_{t+1} ∘ f_{t+1}:
        DC[t] = dc = through_h if t == T - 1 else through_h + DC[t + 1] * gates[t + 1, :, u: 2 * u]
        E[t, :, :u] = dc * gg * slope[t, :, :u]                          # δi ∘ σ′
        E[t, :, u: 2 * u] = dc * C[t] * slope[t, :, u: 2 * u]           # δf ∘ σ′
        E[t, :, 2 * u: 3 * u] = dc * i * slope[t, :, 2 * u: 3 * u]       # δg ∘ tanh′
        E[t, :, 3 * u:] = dh * tanh_c[t] * slope[t, :, 3 * u:]          # δo ∘ σ′
    _record(trace, h=D, c=DC, s=E)
    return _gradients(E, Xt, H)


# --- small instances for the proofs
def _rnn_instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    return (min(shape[0], 2), 1), {**cfg, "units": min(cfg["units"], 2)}, 1


def _lstm_instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    return (min(shape[0], 2), 1), {**cfg, "units": 1}, 1


# --- the lecturer's forms, shown in the derivation (the proofs compare the array code above, element by element)
@cache
def _shown(kind: str) -> Any:
    """(through_time, lecturer, lecturer_of) display hooks of a recurrent kind, for derive.layers.derivation."""
    from derive.engine.expressions import Applied, Hadamard, Indicator, Partial
    from derive.model.notation import q

    from ..display import Grouped, TensorName, Timed, Transposed

    t, T = sp.Symbol("t"), sp.Symbol("T")
    J = q("J")

    def share(n: int, cfg: Config) -> Any:
        """The output's share of ∂J/∂h_t: δ^(l+1)_t, or δ^(l+1) at t = T only."""
        if cfg["returns"] == "sequence":
            return Timed(r"\delta", n + 1, t)
        return Indicator(t, T) * TensorName("delta", n + 1)

    def error(n: int, at: Any) -> Any:
        """ε_t = ∂J/∂(the weighted sums at t): δh_t ∘ g′(z_t) for the rnn, the four gate errors for the lstm."""
        if kind == "rnn":
            return Grouped(Hadamard(Timed(r"\delta h", n, at), Applied(sp.Symbol("g'"), Timed("z", n, at),
                                                                        Timed("z", n, at))))
        return Timed(r"\varepsilon", n, at)

    def through_time(n: int, cfg: Config) -> list[tuple[str, tuple[int, int] | None, Any, Any, str]]:
        """(state, its rows (for the LSTM's gates), ∂J/∂(state) shown, the recursion shown, note)."""
        W = TensorName("W", n)
        recursion = share(n, cfg) + Transposed(W) * error(n, t + 1)
        h: list[tuple[str, tuple[int, int] | None, Any, Any, str]] = [
            ("h", None, Partial(J, Timed("h", n, t)), recursion, f"{kind}_h")]
        if kind == "rnn":
            return h
        dc, dh = Timed(r"\delta c", n, t), Timed(r"\delta h", n, t)
        i, f, g_, o = (Timed(v, n, t) for v in "ifgo")
        c = Timed("c", n, t)
        bar = {v: Timed(r"\bar{%s}" % ("\\imath" if v == "i" else v), n, t) for v in "ifgo"}
        return [*h,
                ("c", None, Partial(J, c), Hadamard(dh, Timed("o", n, t), 1 - sp.tanh(c) ** 2)
                 + Hadamard(Timed(r"\delta c", n, t + 1), Timed("f", n, t + 1)), "lstm_c"),
                ("s", (0, 1), Partial(J, bar["i"]), Hadamard(dc, g_, i, 1 - i), "lstm_gate_i"),
                ("s", (1, 2), Partial(J, bar["f"]), Hadamard(dc, Timed("c", n, t - 1), f, 1 - f), "lstm_gate_f"),
                ("s", (2, 3), Partial(J, bar["g"]), Hadamard(dc, i, 1 - g_ ** 2), "lstm_gate_g"),
                ("s", (3, 4), Partial(J, bar["o"]), Hadamard(dh, sp.tanh(c), o, 1 - o), "lstm_gate_o")]

    def lecturer(name: str, n: int, cfg: Config) -> Any:
        """∂J/∂W = Σ_t ε_t h_{t−1}ᵀ, ∂J/∂U = Σ_t ε_t x_tᵀ, ∂J/∂b = Σ_t ε_t, ∂J/∂x_t = Uᵀ ε_t."""
        if name == "a":
            return Transposed(TensorName("U", n)) * error(n, t)
        other = {"W": Transposed(Timed("h", n, t - 1)), "U": Transposed(Timed("a", n, t)), "b": sp.Integer(1)}[name]
        return sp.Sum(error(n, t) * other, (t, 1, T))

    def lecturer_of(name: str, n: int) -> Any:
        """What the lecturer's form is the gradient of: x_t for ∂J/∂x_t = Uᵀ ε_t (one time step), the whole
        tensor otherwise (None)."""
        return Timed("a", n, t) if name == "a" else None

    return through_time, lecturer, lecturer_of


def _extra(kind: str, definition: Any, backward: Any) -> dict[str, Any]:
    """The hooks derive.layers.derivation uses for a recurrent kind (SymPy imported only when they run)."""
    def through_time(n: int, cfg: Config) -> Any:
        return _shown(kind)[0](n, cfg)

    def lecturer(name: str, n: int, cfg: Config) -> Any:
        return _shown(kind)[1](name, n, cfg)

    def lecturer_of(name: str, n: int) -> Any:
        return _shown(kind)[2](name, n)

    return {"nudged": definition, "trace": backward, "through_time": through_time, "lecturer": lecturer,
            "lecturer_of": lecturer_of}


_RETURNS = Key("choice", "sequence", choices=RETURNS)
register(LayerKind("rnn", {"units": Key("int", None, 1, MAX_UNITS), "activation": Key("activation", "tanh"),
                           "returns": _RETURNS},
                   lambda shape, cfg: recurrent_output(shape, cfg, "rnn"), _parameters(1), rnn_definition,
                   rnn_forward, _with_input(rnn_backward), _rnn_instance, weights=("W", "U"),
                   activation_inside=True, extra=_extra("rnn", rnn_definition, rnn_backward)))
register(LayerKind("lstm", {"units": Key("int", None, 1, MAX_UNITS), "returns": _RETURNS},
                   lambda shape, cfg: recurrent_output(shape, cfg, "lstm"), _parameters(4), lstm_definition,
                   lstm_forward, _with_input(lstm_backward), _lstm_instance, weights=("W", "U"),
                   extra=_extra("lstm", lstm_definition, lstm_backward)))
