"""The model: a network as SPEC §2 describes it (validated, no SymPy), the registries of activations
and losses, the notation profiles and the classic networks by name."""
