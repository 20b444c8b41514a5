"""Developer tools: the synthetic match generator, the producer, the `lol-platform` command line and the
`make dev` supervisor. Only this package may start the local service stack (`lol_stack`); nothing of the
code location imports it (docs/architecture.md, enforced by lol_platform_tests/unit/test_import_rules.py)."""
