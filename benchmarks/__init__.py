"""`make bench`: measure decode latency, batched throughput, frame times, cold start, install size, training."""
