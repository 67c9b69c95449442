"""Foundations shared by every layer: errors, settings, clocks and identifiers.

Nothing here knows about workspaces, pipelines or agents; everything else may
import from here.
"""
