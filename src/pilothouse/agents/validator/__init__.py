"""The validator agent: strict schemas, cross-resource references, policies, registry, history.

See docs/validator.md for the finding categories (a stable contract) and every rule.
"""
