"""Clients for the hosted services Pilothouse talks to: GitHub, Argo CD, Flux, registries.

Each integration is a self-contained package that imports only :mod:`pilothouse.core`
and third-party libraries; integrations never import each other.
"""
