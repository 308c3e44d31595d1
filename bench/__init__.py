"""`make bench`: measures the real `monitor run` process against a farm of local targets,
next to Debian's blackbox exporter on the same farm, and prints each figure with its
command, its inputs and its target (BENCHMARKS.md). A benchmark that prints figures, not a test.
"""
