"""Stand-in servers for tests and benchmarks: real HTTP servers on 127.0.0.1 that speak the
documented protocols of minerwatch's network sources (response shapes from
../shared/docs/api_examples/): ``bitcoind`` (Bitcoin Core JSON-RPC and REST), ``esplora``
(mempool.space and Blockstream), ``exchanges`` (four exchanges' candle endpoints)."""
