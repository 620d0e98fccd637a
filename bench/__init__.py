"""The load benchmark: N members run ``/imagine`` at once against the real bot process.

``python -m bench --jobs 200 --upstream-duration 20 --json bench/results/<name>.json``. The local
Discord runs in this process, the ToAPIs sandbox and the bot each in their own; see
``docs/benchmarks.md`` for what is measured and the committed results.
"""
