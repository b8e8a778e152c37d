"""The bounds of derive sheet (README, "Errors and limits"), apart from the code that draws, so that the command
line can state them in its help without importing NumPy or SymPy."""

MAX_VARIANTS = 500
"""variants of one sheet (a class, a few times over)"""
MAX_SEED = 2**32 - 1
"""seeds are whole numbers 0 … MAX_SEED"""
MAX_NUMBERS = 50_000
"""weights over all variants (variants × the network's weights): each is worked out on a key"""
