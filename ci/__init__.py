"""The pipeline as Python: `python -m ci <step>`; CI systems only call it."""
