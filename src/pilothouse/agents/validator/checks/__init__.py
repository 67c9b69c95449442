"""The validator's checks: one module per family of rules."""
