"""Shipped protocol models, one protocol per module; ``svmcheck list`` shows them."""
