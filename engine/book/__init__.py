"""Book-wide views: what is in a book and what it is worth."""
