"""The example class of the lecture set: the squared-error exercise's network and a class's answers.

The same network and answers are in examples/grade-net.toml and examples/class.csv (a test keeps them
equal); they live here too so that ``derive lecture`` works from an installed package.
"""

from __future__ import annotations

from derive.grading.classfile import read_rows
from derive.grading.report import FORMATS, grade_rows
from derive.model.network import Network

NETWORK = {"layers": [2, 3, 2], "activation": "sigmoid", "output": "sigmoid", "loss": "squared_error",
           "reduction": "mean", "lambda": 0.1}

CLASS = """\
id,target,answer
ana,delta[3][1],(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])
ben,delta[3][1],(a[3][1] - y[1])*sigmoid(z[3][1])*(1 - sigmoid(z[3][1]))
chen,delta[3][1],a[3][1] - y[1]
dana,delta[3][1],(y[1] - a[3][1])*a[3][1]*(1 - a[3][1])
emil,delta[3][1],2*(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])
fang,delta[3][1],(a[3][1] - y[1])*sigmoid(a[3][1])*(1 - sigmoid(a[3][1]))
gus,dTheta[2][1][2],(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])*a[2][2]
hana,dTheta[2][1][2],delta[3][1]*a[2][2]
ivan,dTheta[2][1][2],(a[3][1] - y[1])*a[2][2]
jun,delta[2][1],(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2])*a[2][1]*(1 - a[2][1])
kim,delta[2][1],(Theta[2][1][1]*delta[3][1] + Theta[2][1][2]*delta[3][2])*a[2][1]*(1 - a[2][1])
lea,delta[2][1],(Theta[2][1][0]*delta[3][1] + Theta[2][2][0]*delta[3][2])*a[2][1]*(1 - a[2][1])
mo,D[1][2][1],(Delta[1][2][1] + lambda*Theta[1][2][1])/m
nia,D[1][2][0],Delta[1][2][0]/m + lambda*Theta[1][2][0]/m
oli,D[1][2][1],Delta[1][2][1]/m + lambda*Theta[1][2][1]
pat,D[1][2][1],Delta[1][2][1] + lambda*Theta[1][2][1]
quin,delta[3][1],(a[3][1] - y[1]) * a[3][1] * (1 - a[3]
ray,delta[3][1],__import__('os').system('echo hi')
sam,output_delta,(a - y)*a*(1 - a)
"""

SUFFIXES = {"html": ".html", "latex": ".tex", "markdown": ".md", "json": ".json"}
"""the report's formats in the lecture set, by file suffix"""


def lecture_files() -> dict[str, str]:
    """The example class's report (expected results revealed) as .html, .tex, .md and .json."""
    net = Network.from_dict(NETWORK)
    graded = grade_rows(net, read_rows("examples/class.csv", CLASS))
    return {suffix: FORMATS[fmt](net, graded, reveal=True) for fmt, suffix in SUFFIXES.items()}
