"""Stand-in servers for tests and benchmarks: real HTTP servers on 127.0.0.1 that speak the
documented protocols of the outside sources (``bitcoind``: Bitcoin Core's JSON-RPC and REST)."""
