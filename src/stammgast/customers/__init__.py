"""The customer master: person and business data, contact, payment information, history."""
