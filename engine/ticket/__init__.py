"""The order ticket's engine side: who the order is for, which security, how many shares each
account gets (quantity, % of account value or a notional in any currency, in board lots), and the
pre-trade compliance verdict per account before anything is sent. No Qt: the desktop's ticket
calls it from a worker; the OMS creates the orders (engine.oms.commands)."""
