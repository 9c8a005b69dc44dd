"""One question answered for a day, as a typed frozen result: the only layer that the CLI,
the report and the web call. Modules are named like the commands they serve."""
