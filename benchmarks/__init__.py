"""Benchmarks: a seeded generator of realistic histories (``benchmarks.generate``) and
the measuring run (``benchmarks.run``); see the README's Benchmarks section."""
