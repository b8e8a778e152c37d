"""A grader that never calls a wrong answer correct (SPEC §8): answers whose verdicts are known independently.

Every row's verdict and mistake are written here by hand, from the mathematics (never computed by derive):
correct answers in unusual forms (the forward pass written out, σ(z)σ(−z) for σ′, a/z for ReLU′, zero terms
that vanish because Σy = 1), every registered mistake (also inside a written-out hidden error or gradient),
near-misses (+1e-10 terms, ×1.00000001 factors, e^−1000), answers that agree at some points only, and
circular answers. Networks: sigmoid + cross-entropy, softmax with K = 2 and K = 3, squared error, tanh and
ReLU hidden layers, λ > 0 for D, one-unit layers, four layers.
"""

from __future__ import annotations

import pytest

import derive
from derive.grading.mistakes import MISTAKES

NETS = {
    "sig_ce": {"layers": [2, 3, 2]},
    "soft2": {"layers": [2, 3, 2], "output": "softmax"},
    "soft3": {"layers": [2, 2, 3], "output": "softmax", "lambda": 0.2},
    "se": {"layers": [2, 3, 2], "loss": "squared_error", "reduction": "sum"},
    "tanh": {"layers": [2, 3, 2], "activation": "tanh"},
    "relu": {"layers": [2, 3, 2], "activation": "relu"},
    "reg": {"layers": [3, 4, 2], "lambda": 0.5},
    "one": {"layers": [1, 1, 1], "loss": "squared_error", "reduction": "sum"},
    "deep": {"layers": [2, 2, 2, 1]},
}

OK = "correct"
NONE = "wrong"  # wrong, and none of the registered mistakes

# the hidden error's back-propagated sum Σ_k Θ^(2)_ki δ^(3)_k of the [2, 3, 2] networks, unit i
B1 = "(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2])"
B2 = "(Theta[2][1][2]*delta[3][1] + Theta[2][2][2]*delta[3][2])"
B3 = "(Theta[2][1][3]*delta[3][1] + Theta[2][2][3]*delta[3][2])"
S1 = "a[2][1]*(1 - a[2][1])"
S2 = "a[2][2]*(1 - a[2][2])"
E1, E2 = "(a[3][1] - y[1])", "(a[3][2] - y[2])"
F1, F2 = "(y[1] - a[3][1])", "(y[2] - a[3][2])"
P1, P2 = "a[3][1]*(1 - a[3][1])", "a[3][2]*(1 - a[3][2])"
R3 = "(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2] + Theta[2][3][1]*delta[3][3])"

ROWS: list[tuple[str, str, str, str]] = [
    # --- sigmoid + cross-entropy [2, 3, 2]: δ^(3) = a − y ---------------------------------------------------
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1]", OK),
    ("sig_ce", "delta[3][2]", "sigmoid(z[3][2]) - y[2]", OK),
    ("sig_ce", "delta[3][1]", "1/(1 + exp(-z[3][1])) - y[1]", OK),
    ("sig_ce", "delta[3][1]", "exp(z[3][1])/(exp(z[3][1]) + 1) - y[1]", OK),
    ("sig_ce", "delta[3][1]", "(a[3][1]^2 - y[1]^2)/(a[3][1] + y[1])", OK),
    ("sig_ce", "delta[3][1]", "sigmoid(Theta[2][1][0] + Theta[2][1][1]*a[2][1] + Theta[2][1][2]*a[2][2]"
                              " + Theta[2][1][3]*a[2][3]) - y[1]", OK),
    ("sig_ce", "delta[3][1]", "1/2 + tanh(z[3][1]/2)/2 - y[1]", OK),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + (a[3][1] - sigmoid(z[3][1]))*x[1]", OK),
    ("sig_ce", "delta[3][2]", "exp(log(a[3][2])) - y[2]", OK),
    ("sig_ce", "delta[3][1]", "(a[3][1] - y[1])*exp(z[2][1] - z[2][1])", OK),
    ("sig_ce", "delta[2][1]", f"{B1}*{S1}", OK),
    ("sig_ce", "delta[2][3]", f"(Theta[2][1][3]*{E1} + Theta[2][2][3]*{E2})*sigmoid(z[2][3])*sigmoid(-z[2][3])", OK),
    ("sig_ce", "delta[2][2]", "Theta[2][1][2]*delta[3][1]*a[2][2] - Theta[2][1][2]*delta[3][1]*a[2][2]^2"
                              " + Theta[2][2][2]*delta[3][2]*(a[2][2] - a[2][2]^2)", OK),
    ("sig_ce", "delta[2][1]", f"{B1}/(exp(z[2][1]) + 2 + exp(-z[2][1]))", OK),
    ("sig_ce", "dTheta[2][1][2]", "delta[3][1]*a[2][2]", OK),
    ("sig_ce", "dTheta[2][2][0]", "a[3][2] - y[2]", OK),
    ("sig_ce", "dTheta[1][3][2]", f"{B3}*a[2][3]*(1 - a[2][3])*x[2]", OK),
    ("sig_ce", "dTheta[1][3][0]", "delta[2][3]", OK),
    ("sig_ce", "dTheta[1][1][1]", "delta[2][1]*a[1][1]", OK),
    ("sig_ce", "dTheta[1][2][1]", "delta[2][2]*x[1]", OK),
    ("sig_ce", "output_delta", "a - y", OK),
    ("sig_ce", "output_delta", "sigmoid(z) - y", OK),
    ("sig_ce", "hidden_derivative", "a*(1 - a)", OK),
    ("sig_ce", "hidden_derivative", "exp(-z)/(1 + exp(-z))^2", OK),
    ("sig_ce", "D[1][2][1]", "(Delta[1][2][1] + lambda*Theta[1][2][1])/m", OK),
    ("sig_ce", "D[1][2][1]", "Delta[1][2][1]/m", OK),
    ("sig_ce", "D[2][1][0]", "Delta[2][1][0]*m^-1", OK),
    # near-misses
    ("sig_ce", "delta[3][1]", "(a[3][1] - y[1]) + 0.0000000001*a[3][1]", NONE),
    ("sig_ce", "delta[3][1]", "(a[3][1] - y[1])*1.00000001", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + 1e-10*(y[1] - 0.5)", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + 1e-300", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + exp(-1000)", NONE),
    ("sig_ce", "delta[3][1]", "(a[3][1] - y[1])*(1 + 1e-15)", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + 1e-12*x[1]^10", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + exp(-1000*z[3][1]^2)", NONE),
    ("sig_ce", "delta[2][1]", f"{B1}*{S1} + 1e-11*Theta[2][1][1]", NONE),
    ("sig_ce", "dTheta[2][1][2]", "delta[3][1]*a[2][2]*1.0000000001", NONE),
    ("sig_ce", "delta[3][1]", "(a[3][1] - y[1])*(x[1]^2 + 1)/(x[1]^2 + 1.000000000001)", NONE),
    ("sig_ce", "hidden_derivative", "a*(1 - a) + 1e-14", NONE),
    # agree at some points only, or plainly wrong
    ("sig_ce", "delta[3][1]", "sqrt((a[3][1] - y[1])^2)", NONE),
    ("sig_ce", "delta[3][1]", "a[3][2] - y[2]", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1] - y[1] + sqrt(x[1]^2) - x[1]", NONE),
    ("sig_ce", "delta[2][1]", f"(Theta[2][1][1]*{F1} + Theta[2][2][1]*{E2})*{S1}", NONE),
    ("sig_ce", "delta[3][1]", "a[3][1]", NONE),
    ("sig_ce", "delta[3][1]", "0", NONE),
    # circular
    ("sig_ce", "delta[2][1]", "delta[2][1]", "circular"),
    ("sig_ce", "delta[3][1]", "delta[3][1]", "circular"),
    ("sig_ce", "delta[2][1]", f"{B1}*{S1} + 0*delta[2][2]", "circular"),
    ("sig_ce", "dTheta[2][1][1]", "delta[3][1]*a[2][1] + 0*delta[2][1]", "circular"),
    ("sig_ce", "delta[3][2]", "2*delta[3][2] - delta[3][2]", "circular"),
    # the registry's mistakes
    ("sig_ce", "delta[3][1]", f"{E1}*{P1}", "sigma_prime_with_cross_entropy"),
    ("sig_ce", "delta[3][1]", "y[1] - a[3][1]", "sign_flipped"),
    ("sig_ce", "delta[3][2]", "(a[3][2] - y[2])/2", "factor_two"),
    ("sig_ce", "delta[3][2]", "2*a[3][2] - 2*y[2]", "factor_two"),
    ("sig_ce", "delta[2][1]", B1, "missing_activation_derivative"),
    ("sig_ce", "delta[2][1]", f"{B1}*sigmoid(a[2][1])*(1 - sigmoid(a[2][1]))", "derivative_at_a"),
    ("sig_ce", "delta[2][1]", f"(Theta[2][1][0]*delta[3][1] + Theta[2][2][0]*delta[3][2])*{S1}", "bias_row_kept"),
    ("sig_ce", "delta[2][1]", f"(Theta[2][1][1]*delta[3][1] + Theta[2][1][2]*delta[3][2])*{S1}", "missing_transpose"),
    ("sig_ce", "delta[2][2]", f"(Theta[2][1][2]*{F1} + Theta[2][2][2]*{F2})*{S2}", "sign_flipped"),
    ("sig_ce", "delta[2][2]", f"(Theta[2][1][2]*{E1}*{P1} + Theta[2][2][2]*{E2}*{P2})*{S2}",
     "sigma_prime_with_cross_entropy"),
    ("sig_ce", "dTheta[2][1][2]", f"{F1}*a[2][2]", "sign_flipped"),
    ("sig_ce", "dTheta[2][1][2]", f"{E1}*{P1}*a[2][2]", "sigma_prime_with_cross_entropy"),
    ("sig_ce", "dTheta[1][2][1]", f"(Theta[2][1][2]*{F1} + Theta[2][2][2]*{F2})*{S2}*x[1]", "sign_flipped"),
    ("sig_ce", "output_delta", "y - a", "sign_flipped"),
    ("sig_ce", "output_delta", "(a - y)*a*(1 - a)", "sigma_prime_with_cross_entropy"),
    ("sig_ce", "hidden_derivative", "sigmoid(a)*(1 - sigmoid(a))", "derivative_at_a"),
    ("sig_ce", "D[1][2][1]", "Delta[1][2][1]", "missing_mean"),
    # --- softmax, K = 2 [2, 3, 2]: δ^(3) = a − y, with y₁ + y₂ = 1 ---------------------------------------------
    ("soft2", "delta[3][1]", "a[3][1] - y[1]", OK),
    ("soft2", "delta[3][2]", "a[3][2] - y[2]", OK),
    ("soft2", "delta[3][1]", "a[3][1]*y[2] - a[3][2]*y[1]", OK),
    ("soft2", "delta[3][1]", "exp(z[3][1])/(exp(z[3][1]) + exp(z[3][2])) - y[1]", OK),
    ("soft2", "delta[3][1]", "sigmoid(z[3][1] - z[3][2]) - y[1]", OK),
    ("soft2", "delta[3][2]", "y[1] - a[3][1]", OK),
    ("soft2", "delta[3][1]", "a[3][1] - 1 + y[2]", OK),
    ("soft2", "delta[3][1]", "a[3][1] - y[1] + 1e-10*(y[1] + y[2] - 1)", OK),
    ("soft2", "delta[2][1]", f"(Theta[2][1][1]*{E1} + Theta[2][2][1]*{E2})*{S1}", OK),
    ("soft2", "delta[2][1]", f"(Theta[2][1][1] - Theta[2][2][1])*{E1}*{S1}", OK),
    ("soft2", "dTheta[2][2][3]", "(a[3][2] - y[2])*a[2][3]", OK),
    ("soft2", "delta[3][1]", "y[1] - a[3][1]", "sign_flipped"),
    ("soft2", "delta[3][1]", f"{E1}*{P1}", "sigma_prime_with_cross_entropy"),
    ("soft2", "delta[3][2]", "2*(a[3][2] - y[2])", "factor_two"),
    ("soft2", "delta[3][1]", "a[3][1] - y[1] + 1e-10*(a[3][1] - y[2])", NONE),
    ("soft2", "delta[3][1]", "delta[3][1]", "circular"),
    # --- softmax, K = 3 [2, 2, 3], λ = 0.2 ----------------------------------------------------------------------
    ("soft3", "delta[3][3]", "a[3][3] - y[3]", OK),
    ("soft3", "delta[3][1]", "exp(z[3][1])/(exp(z[3][1]) + exp(z[3][2]) + exp(z[3][3])) - y[1]", OK),
    ("soft3", "delta[3][2]", "a[3][2]*(y[1] + y[2] + y[3]) - y[2]", OK),
    ("soft3", "delta[3][3]", "1 - a[3][1] - a[3][2] - y[3]", OK),
    ("soft3", "delta[3][2]", "(a[3][2] - y[2]) + (a[3][1] + a[3][2] + a[3][3] - 1)*x[2]", OK),
    ("soft3", "delta[2][2]", "(Theta[2][1][2]*delta[3][1] + Theta[2][2][2]*delta[3][2] + Theta[2][3][2]*delta[3][3])"
                             f"*{S2}", OK),
    ("soft3", "delta[2][1]", f"(Theta[2][1][1]*{E1} + Theta[2][2][1]*{E2} + Theta[2][3][1]*(a[3][3] - y[3]))"
                             "*sigmoid(z[2][1])*(1 - sigmoid(z[2][1]))", OK),
    ("soft3", "dTheta[2][3][1]", "delta[3][3]*a[2][1]", OK),
    ("soft3", "D[1][2][1]", "(Delta[1][2][1] + lambda*Theta[1][2][1])/m", OK),
    ("soft3", "D[1][2][1]", "Delta[1][2][1]/m + 0.2*Theta[1][2][1]/m", OK),
    ("soft3", "D[1][2][0]", "Delta[1][2][0]/m", OK),
    ("soft3", "D[1][2][0]", "(Delta[1][2][0] + lambda*Theta[1][2][0])/m", "regularized_bias"),
    ("soft3", "D[1][2][1]", "Delta[1][2][1]/m + lambda*Theta[1][2][1]", "lambda_scale"),
    ("soft3", "D[1][2][1]", "Delta[1][2][1] + lambda*Theta[1][2][1]", "missing_mean"),
    ("soft3", "delta[3][1]", "y[1] - a[3][1]", "sign_flipped"),
    ("soft3", "delta[2][1]", R3, "missing_activation_derivative"),
    ("soft3", "delta[2][1]", f"(Theta[2][1][0]*delta[3][1] + Theta[2][2][0]*delta[3][2] + Theta[2][3][0]*delta[3][3])"
                             f"*{S1}", "bias_row_kept"),
    ("soft3", "D[1][2][1]", "(Delta[1][2][1] + 0.2000001*Theta[1][2][1])/m", NONE),
    ("soft3", "D[1][2][1]", "Delta[1][2][1]/m + lambda*Theta[1][2][1]/m + 1e-10", NONE),
    ("soft3", "delta[2][1]", f"{R3}*{S1}*1.00000001", NONE),
    # --- squared error, sum [2, 3, 2]: δ^(3) = (a − y) a (1 − a) -----------------------------------------------
    ("se", "delta[3][1]", f"{E1}*{P1}", OK),
    ("se", "delta[3][1]", f"{E1}*sigmoid(z[3][1])*(1 - sigmoid(z[3][1]))", OK),
    ("se", "delta[3][2]", "a[3][2]^2 - a[3][2]^3 - a[3][2]*y[2] + a[3][2]^2*y[2]", OK),
    ("se", "delta[3][1]", f"{E1}*exp(-z[3][1])*a[3][1]^2", OK),
    ("se", "delta[2][1]", f"(Theta[2][1][1]*{E1}*{P1} + Theta[2][2][1]*{E2}*{P2})*{S1}", OK),
    ("se", "delta[2][2]", f"{B2}*{S2}", OK),
    ("se", "D[1][1][1]", "Delta[1][1][1]", OK),
    ("se", "delta[3][1]", "a[3][1] - y[1]", "missing_activation_derivative"),
    ("se", "delta[3][1]", f"{E1}*{P1} + 0.0000000001*a[3][1]", NONE),
    ("se", "delta[3][1]", f"{E1}*{P1}*1.00000001", NONE),
    ("se", "delta[3][1]", f"{E1}*{P1} + 1e-10*(y[1] - 0.5)", NONE),
    ("se", "delta[3][1]", f"2*{E1}*{P1}", "factor_two"),
    ("se", "delta[3][1]", f"{E1}*sigmoid(a[3][1])*(1 - sigmoid(a[3][1]))", "derivative_at_a"),
    ("se", "delta[2][1]", f"(Theta[2][1][1]*{E1} + Theta[2][2][1]*{E2})*{S1}", "missing_activation_derivative"),
    ("se", "dTheta[2][1][2]", f"{E1}*a[2][2]", "missing_activation_derivative"),
    ("se", "dTheta[1][1][2]", f"(Theta[2][1][1]*{E1} + Theta[2][2][1]*{E2})*{S1}*x[2]",
     "missing_activation_derivative"),
    ("se", "delta[2][1]", f"(Theta[2][1][1]*{F1}*{P1} + Theta[2][2][1]*{F2}*{P2})*{S1}", "sign_flipped"),
    ("se", "output_delta", "(a - y)*a*(1 - a)/2", "factor_two"),
    ("se", "delta[3][1]", f"{E1}^2/2", NONE),
    ("se", "delta[3][1]", f"{E1}*a[3][1]", NONE),
    ("se", "delta[3][1]", f"sqrt(({E1}*{P1})^2)", NONE),
    ("se", "delta[2][1]", "delta[2][1]*1", "circular"),
    # --- tanh hidden layer, sigmoid + cross-entropy output [2, 3, 2]: g′ = 1 − a² ------------------------------
    ("tanh", "delta[2][1]", f"{B1}*(1 - a[2][1]^2)", OK),
    ("tanh", "delta[2][2]", f"{B2}*(1 - tanh(z[2][2])^2)", OK),
    ("tanh", "delta[2][3]", f"{B3}*(1 - a[2][3])*(1 + a[2][3])", OK),
    ("tanh", "delta[2][1]", f"{B1}*4/(exp(z[2][1]) + exp(-z[2][1]))^2", OK),
    ("tanh", "delta[2][1]", f"{B1}*4*sigmoid(2*z[2][1])*(1 - sigmoid(2*z[2][1]))", OK),
    ("tanh", "hidden_derivative", "1 - a^2", OK),
    ("tanh", "hidden_derivative", "1 - tanh(z)^2", OK),
    ("tanh", "hidden_derivative", "sqrt((1 - a^2)^2)", OK),
    ("tanh", "dTheta[1][2][0]", f"{B2}*(1 - a[2][2]^2)", OK),
    ("tanh", "delta[3][1]", "a[3][1] - y[1]", OK),
    ("tanh", "delta[2][1]", f"{B1}*{S1}", NONE),
    ("tanh", "hidden_derivative", "1 - tanh(a)^2", "derivative_at_a"),
    ("tanh", "delta[2][1]", f"{B1}*(1 - tanh(a[2][1])^2)", "derivative_at_a"),
    ("tanh", "delta[2][1]", B1, "missing_activation_derivative"),
    ("tanh", "delta[2][1]", f"{B1}*(1 - a[2][1]^2) + 1e-12", NONE),
    ("tanh", "delta[2][1]", f"{B1}*(1 - a[2][1]^2)*(1 + 1e-9*a[2][1])", NONE),
    # --- ReLU hidden layer [2, 3, 2]: g′(z) = 1[z > 0] = a/z where z ≠ 0 -----------------------------------------
    ("relu", "delta[2][1]", f"{B1}*a[2][1]/z[2][1]", OK),
    ("relu", "delta[2][2]", f"{B2}*(z[2][2] + sqrt(z[2][2]^2))/(2*z[2][2])", OK),
    ("relu", "dTheta[2][1][3]", "delta[3][1]*a[2][3]", OK),
    ("relu", "delta[3][1]", "a[3][1] - y[1]", OK),
    ("relu", "dTheta[2][1][1]", f"{E1}*a[2][1]", OK),
    ("relu", "hidden_derivative", "a/z", OK),
    ("relu", "delta[2][3]", f"{B3}*a[2][3]/sqrt(z[2][3]^2)", OK),
    ("relu", "delta[2][1]", f"{B1}*z[2][1]/sqrt(z[2][1]^2)", NONE),
    ("relu", "delta[2][1]", B1, "missing_activation_derivative"),
    ("relu", "delta[2][1]", f"{B1}*a[2][1]", NONE),
    ("relu", "delta[2][1]", f"{B1}*{S1}", NONE),
    ("relu", "delta[2][1]", "(Theta[2][1][1]*delta[3][1] + Theta[2][1][2]*delta[3][2])*a[2][1]/z[2][1]",
     "missing_transpose"),
    # --- λ = 0.5, mean [3, 4, 2]: D = Δ/m + (λ/m)Θ for j ≥ 1, Δ/m for j = 0 ----------------------------------
    ("reg", "D[1][2][3]", "(Delta[1][2][3] + lambda*Theta[1][2][3])/m", OK),
    ("reg", "D[1][2][3]", "Delta[1][2][3]/m + 0.5*Theta[1][2][3]/m", OK),
    ("reg", "D[1][2][3]", "(2*Delta[1][2][3] + Theta[1][2][3])/(2*m)", OK),
    ("reg", "D[2][1][0]", "Delta[2][1][0]/m", OK),
    ("reg", "D[2][2][4]", "(Delta[2][2][4] + lambda*Theta[2][2][4])*m^-1", OK),
    ("reg", "D[1][2][3]", "lambda*Theta[1][2][3]/m + Delta[1][2][3]/m + 0*Delta[1][1][1]", OK),
    ("reg", "delta[2][4]", "(Theta[2][1][4]*delta[3][1] + Theta[2][2][4]*delta[3][2])*a[2][4]*(1 - a[2][4])", OK),
    ("reg", "dTheta[1][4][3]", "delta[2][4]*x[3]", OK),
    ("reg", "D[2][1][0]", "(Delta[2][1][0] + lambda*Theta[2][1][0])/m", "regularized_bias"),
    ("reg", "D[1][2][3]", "Delta[1][2][3]/m + lambda*Theta[1][2][3]", "lambda_scale"),
    ("reg", "D[1][2][3]", "Delta[1][2][3]/m + lambda*Theta[1][2][3]/(2*m)", "lambda_scale"),
    ("reg", "D[1][2][3]", "Delta[1][2][3] + lambda*Theta[1][2][3]", "missing_mean"),
    ("reg", "D[1][2][3]", "Delta[1][2][3] + lambda*Theta[1][2][3]/m", "missing_mean"),
    ("reg", "D[2][1][0]", "Delta[2][1][0]", "missing_mean"),
    ("reg", "D[1][2][3]", "(Delta[1][2][3] + lambda*Theta[1][2][3])/m + 1e-10*Theta[1][2][3]", NONE),
    ("reg", "D[1][2][3]", "(Delta[1][2][3] + 0.5000000001*Theta[1][2][3])/m", NONE),
    ("reg", "D[1][2][3]", "(Delta[1][2][3] - lambda*Theta[1][2][3])/m", NONE),
    # --- one unit per layer [1, 1, 1], squared error ----------------------------------------------------------
    ("one", "delta[3][1]", f"{E1}*{P1}", OK),
    ("one", "delta[2][1]", f"Theta[2][1][1]*delta[3][1]*{S1}", OK),
    ("one", "delta[2][1]", f"Theta[2][1][1]*{E1}*{P1}*{S1}", OK),
    ("one", "dTheta[1][1][1]", "delta[2][1]*x[1]", OK),
    ("one", "dTheta[2][1][0]", "delta[3][1]", OK),
    ("one", "output_delta", "(a - y)*a*(1 - a)", OK),
    ("one", "hidden_derivative", "sigmoid(z)*(1 - sigmoid(z))", OK),
    ("one", "delta[2][1]", f"Theta[2][1][0]*delta[3][1]*{S1}", "bias_row_kept"),
    ("one", "delta[2][1]", f"Theta[2][1][1]*{E1}*{S1}", "missing_activation_derivative"),
    ("one", "delta[3][1]", "a[3][1] - y[1]", "missing_activation_derivative"),
    ("one", "delta[2][1]", "Theta[2][1][1]*delta[3][1]", "missing_activation_derivative"),
    ("one", "delta[2][1]", "delta[2][1]", "circular"),
    ("one", "delta[3][1]", f"{E1}*{P1} + 1e-10*x[1]", NONE),
    ("one", "dTheta[1][1][1]", "delta[2][1]*x[1]*1.00000001", NONE),
    # --- four layers [2, 2, 2, 1], sigmoid + cross-entropy -------------------------------------------------------
    ("deep", "delta[3][1]", "Theta[3][1][1]*delta[4][1]*a[3][1]*(1 - a[3][1])", OK),
    ("deep", "delta[2][1]", "(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2])*a[2][1]*(1 - a[2][1])", OK),
    ("deep", "delta[2][2]", "(Theta[2][1][2]*Theta[3][1][1]*(a[4][1] - y[1])*a[3][1]*(1 - a[3][1])"
                            " + Theta[2][2][2]*Theta[3][1][2]*(a[4][1] - y[1])*a[3][2]*(1 - a[3][2]))"
                            "*a[2][2]*(1 - a[2][2])", OK),
    ("deep", "dTheta[1][2][1]", "delta[2][2]*x[1]", OK),
    ("deep", "dTheta[2][1][2]", "delta[3][1]*a[2][2]", OK),
    ("deep", "delta[3][1]", "delta[2][1]", "circular"),
    ("deep", "delta[3][1]", "Theta[3][1][1]*delta[4][1]*a[3][1]*(1 - a[3][1]) + 0*delta[2][1]", "circular"),
    ("deep", "dTheta[2][1][2]", "delta[2][1]*a[2][2]", "circular"),
    ("deep", "delta[2][2]", "(Theta[2][1][2]*Theta[3][1][1]*(y[1] - a[4][1])*a[3][1]*(1 - a[3][1])"
                            " + Theta[2][2][2]*Theta[3][1][2]*(y[1] - a[4][1])*a[3][2]*(1 - a[3][2]))"
                            "*a[2][2]*(1 - a[2][2])", "sign_flipped"),
    ("deep", "delta[2][1]", "(Theta[2][1][1]*Theta[3][1][1]*(a[4][1] - y[1])*a[4][1]*(1 - a[4][1])"
                            "*a[3][1]*(1 - a[3][1])"
                            " + Theta[2][2][1]*Theta[3][1][2]*(a[4][1] - y[1])*a[4][1]*(1 - a[4][1])*a[3][2]"
                            "*(1 - a[3][2]))*a[2][1]*(1 - a[2][1])", "sigma_prime_with_cross_entropy"),
    ("deep", "delta[2][1]", "(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2])*a[2][1]*(1 - a[2][1])"
                            "*(1 + exp(-1000))", NONE),
]


def _net(key: str) -> derive.Network:
    return derive.Network.from_dict(NETS[key])


@pytest.mark.parametrize(("key", "target", "answer", "label"), ROWS,
                         ids=[f"{n}-{k}-{t}-{label}" for n, (k, t, _, label) in enumerate(ROWS)])
def test_the_verdict_is_the_one_known(key, target, answer, label):
    v = derive.grade(_net(key), target, answer)
    if label == OK:
        assert (v.verdict, v.mistake) == ("correct", None), (v.text, v.expected)
    else:
        assert v.verdict == "wrong", (v.text, v.expected)  # above all: never "correct"
        assert v.mistake == (None if label == NONE else label), v.text


def test_the_set_is_large_and_covers_every_mistake_and_network():
    labels = [label for *_, label in ROWS]
    assert len(ROWS) >= 150
    assert labels.count(OK) >= 50 and len(ROWS) - labels.count(OK) >= 75
    assert set(MISTAKES) <= set(labels)
    assert {key for key, *_ in ROWS} == set(NETS)
    assert len({(k, t, a) for k, t, a, _ in ROWS}) == len(ROWS)  # no row twice
