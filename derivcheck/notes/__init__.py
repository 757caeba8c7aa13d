"""Reading derivations from documents (issue 15)."""
