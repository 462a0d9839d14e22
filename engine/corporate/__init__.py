"""Corporate actions as data: entered by file or by hand (four-eyes), booked on their dates once.

terms (kinds, dates and validation), csvfile (the vendor file), entry (load, add, approve,
reject), apply (what each kind does to lots and cash), book (book_due, called by the day cycle),
pending (actions that suspend an account from rebalancing), listing (what the CLI shows).
"""
