"""Pure, vectorised daily metrics: arrays in, arrays out, every parameter explicit."""
