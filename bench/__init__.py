"""Trial Check's benchmark harness (`make bench`, `python -m bench [--smoke]`). See bench/run.py."""
