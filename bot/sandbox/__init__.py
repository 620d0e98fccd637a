"""An in-process emulator of the ToAPIs task API: the no-key default and the tests' upstream."""
