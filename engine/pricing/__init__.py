"""Market data as the engine reads it: FX rates on any date and pair, last prices, lot valuation."""
