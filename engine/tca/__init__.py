"""Transaction cost analysis: per order, broker and trader, against the market the OMS marked
(engine.oms.marks): arrival price, implementation shortfall, slippage against arrival and the
interval VWAP of the market's prints (the SIMULATED market in the demo), fill rate and fees."""
