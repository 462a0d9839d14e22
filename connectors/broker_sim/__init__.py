"""A SIMULATED executing broker (a quickfix acceptor) for the demo and the tests. Not a real broker."""
