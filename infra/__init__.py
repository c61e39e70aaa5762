"""Pulumi program of the RevOps metrics host: one ComponentResource per concern.

`infra/__main__.py` is the entry Pulumi runs; `infra.stack.build()` wires the components and is
what the unit tests call under `pulumi.runtime.set_mocks`.
"""
