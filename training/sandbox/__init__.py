"""The sandbox that runs generated programs: namespaces, an unprivileged user, rlimits, a wall clock and an
output cap around a small harness that runs the tests (docs/sandbox.md).

Modules: `limits` (the knobs), `isolation` (what this machine allows, probed once), `launcher` (the
sandbox's first process) and `harness` (the test runner inside), `runner` (one run, from the verifier's
side), `outcome` (statuses and results), `compare` (output comparison), `expected` (outputs computed from
reference solutions). The API is `training.verify`.
"""
