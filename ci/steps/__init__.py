"""One module per pipeline step; each step is a function returning an exit code."""
