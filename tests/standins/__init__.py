"""Stand-in servers on 127.0.0.1 speaking the documented protocols of minerwatch's network
sources (response shapes from ../shared/docs/api_examples/), for tests and benchmarks."""
