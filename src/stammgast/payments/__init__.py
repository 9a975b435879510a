"""Online payments: credit topped up through a payment provider, credited exactly once."""
