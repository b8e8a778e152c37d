"""The engine: a network's backpropagation derived by SymPy and checked step by step (``backprop``,
held in a ``Derivation``), its element-wise gradients, its numeric functions (``lambdify``) and
computation graphs differentiated in reverse."""
