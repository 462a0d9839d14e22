"""Client-ready reports (holdings, gains, performance, risk, exposure) as JSON-ready dictionaries."""
