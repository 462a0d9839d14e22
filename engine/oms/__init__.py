"""Order management: the FIX 4.4 order state table, blocks, allocations, market hours, routing."""
