"""Pricing: price levels by customer group, discounts, subsidies, and the quote of a basket."""
