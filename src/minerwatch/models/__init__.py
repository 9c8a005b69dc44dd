"""Economic models over the daily frame: production cost (``cost``), the ASIC catalog
(``asics``). Pure functions: arrays in, arrays out, every parameter explicit with its source."""
