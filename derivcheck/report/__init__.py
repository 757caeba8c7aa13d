"""Stage 6: views of a ``Report`` (terminal text, JSON). Only reporters print."""
