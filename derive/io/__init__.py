"""Input and output: files written atomically, decimals read as a user wrote them, progress bars."""
