"""Ledger: the customer's money (prepaid credit, customer account), every movement an entry."""
