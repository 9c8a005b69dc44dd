"""Outside sources: each module yields typed records and knows nothing of metrics."""
